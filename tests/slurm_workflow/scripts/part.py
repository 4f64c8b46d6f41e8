"""One scatter job of tests/slurm_workflow: weight * sum of squares of numbers[i::n].

usage: part.py NUMBERS WEIGHT I N OUTPUT RANLOG
Fails (ValueError, non-zero exit) when WEIGHT does not hold an integer: the
test injects such a bad input to check how failures are reported.
"""

import os
import sys

numbers_path, weight_path, i, n, out_path, ran_log = sys.argv[1:7]
i, n = int(i), int(n)
with open(ran_log, "a") as fh:  # count attempts, failed ones included
    fh.write(f"part {i} {os.environ.get('SLURM_JOB_ID', '')}\n")
print(f"part {i}: job {os.environ.get('SLURM_JOB_ID', 'none')}", flush=True)
numbers = [int(line) for line in open(numbers_path).read().split()]
weight_text = open(weight_path).read().strip()
weight = int(weight_text)  # ValueError on a bad input, by design
value = weight * sum(x * x for x in numbers[i::n])
with open(out_path, "w") as fh:
    fh.write(f"{value}\n")
print(f"part {i}: weight {weight}, {len(numbers[i::n])} numbers -> {value}")

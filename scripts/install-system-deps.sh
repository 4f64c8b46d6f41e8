#!/usr/bin/env bash
# System libraries glass2epm needs: SuiteSparse (CHOLMOD, for scikit-sparse) and
# OpenBLAS (CHOLMOD with Debian's reference BLAS is ~6x slower on large Hessians).
# Installed with apt when we are root on Debian/Ubuntu; otherwise we say what to do.
set -euo pipefail
have_headers() { [ -f /usr/include/suitesparse/cholmod.h ] || [ -f "${CONDA_PREFIX:-/nonexistent}/include/cholmod.h" ] || [ -f "${CONDA_PREFIX:-/nonexistent}/include/suitesparse/cholmod.h" ]; }
have_openblas() { ldconfig -p 2>/dev/null | grep -q libopenblas || [ -n "${CONDA_PREFIX:-}" ]; }
if have_headers && have_openblas; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing SuiteSparse and OpenBLAS with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends libsuitesparse-dev libopenblas0-pthread libopenblas-dev >/dev/null
  exit 0
fi
cat >&2 <<'MSG'
glass2epm needs SuiteSparse (CHOLMOD) headers and libraries, and OpenBLAS.
Without root, create the conda environment first and run make inside it:
    conda env create -f envs/glass2epm.yaml && conda activate glass2epm
    SUITESPARSE_INCLUDE_DIR=$CONDA_PREFIX/include SUITESPARSE_LIBRARY_DIR=$CONDA_PREFIX/lib make install
As root on Debian/Ubuntu: apt-get install libsuitesparse-dev libopenblas-dev
MSG
exit 1

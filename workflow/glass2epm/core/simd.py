"""Explicit 4-wide SIMD panel products for the 2D block-envelope Cholesky.

numba's auto-vectoriser leaves the 4×4 register-blocked inner loop of
:func:`glass2epm.mechanics.envelope.block_envelope_factor` scalar (16 scalar fused multiply-adds
per column). :func:`panel_dot4` and :func:`panel_dot2` emit the same loop in LLVM IR
with ``<4 x double>`` vectors: per column, one vector load of the 4 consecutive
entries of the second panel, one broadcast per row of the first panel and one vector
``llvm.fma`` per row. Every accumulator s[r, c] receives the same fused
multiply-adds in the same order as the scalar loop, so the results are bit-for-bit
those of ``s[r, c] += a[r] * b[c]`` compiled with ``fastmath={"contract"}``
(tested in ``tests/test_yieldmap_fast.py``). Runs on any LLVM target (on a CPU
without 256-bit vectors LLVM splits the vectors).

Storage convention (that of :func:`glass2epm.mechanics.envelope.block_envelope_layout`): column
k of a panel is 4 consecutive doubles, so panel entry (r, k) is at ``u + 4k + r``.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

__all__ = ["panel_dot2", "panel_dot4"]


def _make_panel_dot(nrows: int):
    """The intrinsic ``panel_dot(env, ua, ub, n, init)`` → UniTuple(float64, 4·nrows):
    s[r, c] = init[4r + c] + Σ_{k<n} env[ua + 4k + r] · env[ub + 4k + c] for r < nrows,
    c < 4 (row-major), accumulated in k order with one fused multiply-add per term.
    ``env``: a C-contiguous float64 array; ``ua``, ``ub``: integer offsets (no bounds
    check: the caller guarantees ua + 4n + nrows ≤ len and ub + 4n + 4 ≤ len)."""

    @intrinsic
    def panel_dot(typingctx, env, ua, ub, n, init):
        ret = types.UniTuple(types.float64, 4 * nrows)
        sig = ret(env, ua, ub, n, init)

        def codegen(context, builder, signature, args):
            env_v, ua_v, ub_v, n_v, init_v = args
            data = context.make_array(signature.args[0])(context, builder, env_v).data
            dbl = ir.DoubleType()
            vt = ir.VectorType(dbl, 4)
            i64 = ir.IntType(64)
            fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vt, [vt, vt, vt]),
                                                 "llvm.fma.v4f64")
            splat0 = ir.Constant(ir.VectorType(ir.IntType(32), 4), [0, 0, 0, 0])
            accs = []
            for r in range(nrows):
                v = ir.Constant(vt, None)
                for c in range(4):
                    v = builder.insert_element(v, builder.extract_value(init_v, 4 * r + c),
                                               ir.Constant(i64, c))
                accs.append(cgutils.alloca_once_value(builder, v))
            ua64 = builder.sext(ua_v, i64) if ua_v.type.width < 64 else ua_v
            ub64 = builder.sext(ub_v, i64) if ub_v.type.width < 64 else ub_v
            n64 = builder.sext(n_v, i64) if n_v.type.width < 64 else n_v
            with cgutils.for_range(builder, n64) as loop:
                off = builder.mul(loop.index, ir.Constant(i64, 4))
                pb = builder.gep(data, [builder.add(ub64, off)])
                vb = builder.load(builder.bitcast(pb, vt.as_pointer()), align=8)
                pa = builder.gep(data, [builder.add(ua64, off)])
                for r in range(nrows):
                    a = builder.load(builder.gep(pa, [ir.Constant(i64, r)]))
                    va = builder.insert_element(ir.Constant(vt, None), a, ir.Constant(i64, 0))
                    va = builder.shuffle_vector(va, ir.Constant(vt, None), splat0)
                    builder.store(builder.call(fma, [va, vb, builder.load(accs[r])]), accs[r])
            out = []
            for r in range(nrows):
                acc = builder.load(accs[r])
                for c in range(4):
                    out.append(builder.extract_element(acc, ir.Constant(i64, c)))
            return context.make_tuple(builder, ret, out)

        return sig, codegen

    return panel_dot


panel_dot4 = _make_panel_dot(4)
panel_dot2 = _make_panel_dot(2)

// relaxed-patch.mjs — gives a wasm module built with DS2_WASM_RELAXED (wasm/wasm.cmake) its relaxed-SIMD
// instructions.
//
// Why: Debian 12's clang 14 knows only the relaxed-SIMD proposal's early prototype instructions, none of the
// integer dots. So the kernels (src/kernels/simd128.c, half_simd128.h) write each relaxed instruction as a
// prototype one with the same operand shapes, and this script rewrites those opcodes in place to the standard
// ones (relaxed-SIMD proposal, final opcodes; all encodings are 3 bytes, so nothing else in the module moves):
//   0xfd 0xa2 0x01  i8x16.relaxed_swizzle (prototype; a, b) → 0xfd 0x92 0x02  i16x8.relaxed_dot_i8x16_i7x16_s
//   0xfd 0xcf 0x01  f64x2.fma (prototype; a, b, c)         → 0xfd 0x87 0x02  f64x2.relaxed_madd (a·b + c)
//   0xfd 0xaf 0x01  f32x4.fma (prototype; a, b, c)         → 0xfd 0x85 0x02  f32x4.relaxed_madd (a·b + c)
// Engines reject the prototype opcodes, so an unpatched module fails to compile instead of computing garbage.
// The code section is decoded instruction by instruction (immediates skipped by their encodings), so bytes
// that merely look like an opcode inside an immediate are never touched. A module without any prototype
// instruction is an error: the caller asked for a relaxed build.
//
// Usage: node wasm/relaxed-patch.mjs in.wasm [out.wasm]   (out defaults to in; prints what it rewrote)
import fs from 'node:fs';

const REWRITE = new Map([
    [0xa2, [0x92, 0x02, 'i16x8.relaxed_dot_i8x16_i7x16_s']],
    [0xcf, [0x87, 0x02, 'f64x2.relaxed_madd']],
    [0xaf, [0x85, 0x02, 'f32x4.relaxed_madd']],
]);

export function patchRelaxed(buf) {
    const b = Uint8Array.from(buf);
    let p = 0;
    const u32 = () => {
        let r = 0, shift = 0, byte;
        do { byte = b[p++]; if (byte === undefined) throw new Error('relaxed-patch: truncated LEB'); r += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
        return r;
    };
    const skipLeb = () => { while (b[p++] & 0x80) { if (p > b.length) throw new Error('relaxed-patch: truncated LEB'); } };
    const memarg = () => { skipLeb(); skipLeb(); };
    if (b.length < 8 || b[0] !== 0 || b[1] !== 0x61 || b[2] !== 0x73 || b[3] !== 0x6d) throw new Error('relaxed-patch: not a wasm module');
    p = 8;
    const counts = new Map();
    while (p < b.length) {
        const id = b[p++], size = u32(), end = p + size;
        if (id !== 10) { p = end; continue; }
        const nfun = u32();
        for (let f = 0; f < nfun; f++) {
            const bodySize = u32(), bodyEnd = p + bodySize;
            const nloc = u32();
            for (let i = 0; i < nloc; i++) { skipLeb(); p++; }
            while (p < bodyEnd) {
                const op = b[p++];
                if (op === 0x02 || op === 0x03 || op === 0x04) { // block type: empty, a value type, or an s33 index
                    const t = b[p];
                    if (t === 0x40 || (t >= 0x7b && t <= 0x7f) || t === 0x70 || t === 0x6f) p++; else skipLeb();
                } else if (op === 0x0c || op === 0x0d || op === 0x10 || (op >= 0x20 && op <= 0x26) || op === 0xd2) skipLeb();
                else if (op === 0x0e) { const n = u32(); for (let i = 0; i <= n; i++) skipLeb(); }
                else if (op === 0x11) { skipLeb(); skipLeb(); }
                else if (op === 0x1c) { const n = u32(); p += n; }
                else if (op >= 0x28 && op <= 0x3e) memarg();
                else if (op === 0x3f || op === 0x40 || op === 0xd0) p++;
                else if (op === 0x41 || op === 0x42) skipLeb();
                else if (op === 0x43) p += 4;
                else if (op === 0x44) p += 8;
                else if (op === 0xfc) {
                    const sub = u32();
                    if (sub === 8) { skipLeb(); p++; } else if (sub === 10) p += 2; else if (sub === 11) p++;
                    else if (sub === 12 || sub === 14) { skipLeb(); skipLeb(); } else if (sub === 9 || sub === 13 || (sub >= 15 && sub <= 17)) skipLeb();
                } else if (op === 0xfd) {
                    const at = p, sub = u32();
                    if (sub <= 11 || sub === 92 || sub === 93) memarg();
                    else if (sub === 12 || sub === 13) p += 16;
                    else if (sub >= 21 && sub <= 34) p++;
                    else if (sub >= 84 && sub <= 91) { memarg(); p++; }
                    else if (p - at === 2 && b[at + 1] === 0x01 && REWRITE.has(b[at])) {
                        const [lo, hi, name] = REWRITE.get(b[at]);
                        b[at] = lo; b[at + 1] = hi;
                        counts.set(name, (counts.get(name) || 0) + 1);
                    }
                } else if (op === 0xfe) {
                    const sub = u32();
                    if (sub === 3) p++; else memarg();
                } else if (op > 0xc4 && op !== 0xd1) throw new Error(`relaxed-patch: unknown opcode 0x${op.toString(16)} at byte ${p - 1}`);
            }
            if (p !== bodyEnd) throw new Error(`relaxed-patch: function ${f} decoded past its end`);
        }
        p = end;
    }
    if (counts.size === 0) throw new Error('relaxed-patch: no prototype relaxed instructions found (was the module built with DS2_WASM_RELAXED?)');
    return { bytes: b, counts };
}

if (import.meta.url === `file://${process.argv[1]}`) {
    const [inp, out = inp] = process.argv.slice(2);
    if (!inp) { console.error('usage: node wasm/relaxed-patch.mjs in.wasm [out.wasm]'); process.exit(2); }
    try {
        const { bytes, counts } = patchRelaxed(fs.readFileSync(inp));
        fs.writeFileSync(out, bytes);
        console.log(`relaxed-patch: ${out}: ${[...counts].map(([k, n]) => `${n} × ${k}`).join(', ')}`);
    } catch (e) { console.error(e.message); process.exit(1); }
}

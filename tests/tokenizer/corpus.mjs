// corpus.mjs — a seeded, varied tokenizer test corpus (same seed → same strings on every machine).
//
// Each entry is {kind, bytes: Buffer}. Kinds: prose, code, numbers, cjk, emoji, marks, whitespace, special,
// scripts, random, mixed (valid UTF-8), and invalid (arbitrary bytes, not valid UTF-8).
// toJsonText(bytes) gives the JS string used on the --jsonl protocol: valid UTF-8 decoded, every byte of an
// invalid sequence as a lone surrogate U+DC80..U+DCFF (JSON "\udcXX"), as ds2 tokenize --jsonl reads it.

export function rng(seed) { // mulberry32
    let a = seed >>> 0;
    const next = () => {
        a = (a + 0x6D2B79F5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const int = (n) => Math.floor(next() * n);
    const pick = (arr) => arr[int(arr.length)];
    return {next, int, pick};
}

const WORDS = ("the of and to in a is that for it as was with be by on not he I this are or his from at which but have " +
    "an they you were her she there been one all we their has would when if so no will more can about said into " +
    "what its only time could some them other than then now like very my may over also new our these two first " +
    "Elizabeth Darcy Bennet Pemberley whale Ahab Ishmael don't I'm you're it's we'll they've couldn't o'clock " +
    "naïve café résumé coöperate façade Zürich São Paulo Ελλάδα Москва hello HELLO Hello camelCase snake_case " +
    "kebab-case URL https://example.com/path?q=1&r=2 e-mail user@example.org ... -- — – « » “quoted” ‘single’").split(" ");
const PUNCT = [".", ",", ";", ":", "!", "?", "...", " -", "'", "\"", "(", ")", " —", "?!", "…", "。", "，", "！"];

const CODE = [
    "int main(int argc, char **argv) {\n    return 0;\n}\n",
    "def f(x):\n\treturn x ** 2 + 1  # square\n",
    "for (let i = 0; i < n; i++) { sum += a[i]; }",
    "#include <stdio.h>\r\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\r\n",
    "    if (x != NULL && x->next) {\n        free(x);\n    }\n\n\n",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "const re = /^[a-z]+$/i; // regex\nconsole.log(`${a}+${b}`);",
    "x = [1, 2, 3]\ny = {'a': 1, \"b\": 2}\nprint(x[::-1], y.get('a'))",
    "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
    "<div class=\"row\"><span id='x'>&amp;&lt;</span></div>",
    "a+=b;c-=d;e*=f;g/=h;i%=j;k<<=1;l>>=2;m&&n||!o",
    "\t\t}\n\t}\n}\n",
    "$ ls -la | grep '\\.c$' > out.txt 2>&1",
];

const SPECIALS = ["<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>",
    "<｜fim▁hole｜>", "<｜tool▁sep｜>", "<｜place▁holder▁no▁7｜>", "<｜▁pad▁｜>",
    "<｜User", "｜>", "<|endoftext|>", "<｜end▁of▁sentence", "▁", "｜"];

const EMOJI = ["😀", "👍", "👍🏽", "❤️", "🇺🇸", "🇯🇵", "👨‍👩‍👧‍👦", "👩‍💻", "🏳️‍🌈", "🧑🏿‍🚀", "✊🏾", "🙂", "🎉",
    "#️⃣", "1️⃣", "☺", "⚡", "🦀", "🐍", "🤖"];

const MARKS = ["e\u0301", "a\u0308", "n\u0303", "o\u0302\u0323", "\u0915\u094D\u0937", "नमस्ते", "ภาษาไทย",
    "שָׁלוֹם", "مَرْحَبًا", "Z\u0351\u036B\u0343\u036A\u0302\u036B\u033D\u034F\u0334\u0319\u0324\u031E\u0349\u035A\u032F\u031E\u0320\u034DA",
    "\u0301start", "ǅ", "ﬁ", "각", "각", "க்ஷ", "\u200Dx", "a\u200Bb", "x\u00ADy"];

const WS = [" ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n", "\u00A0", "\u3000", "\u2003", "\u2028", "\v", "\f",
    " \t ", "\r", "        ", "\n    ", "\u0085", "\uFEFF", "\u200B", "\u1680", "\u202F"];

const CJK = () => {
    const parts = [];
    return parts;
};

function cp(r, lo, hi) { return String.fromCodePoint(lo + r.int(hi - lo + 1)); }

function gen_prose(r) {
    const n = 1 + r.int(30);
    let s = "";
    for (let i = 0; i < n; i++) {
        let w = r.pick(WORDS);
        if (i === 0 || r.next() < 0.1) w = w.charAt(0).toUpperCase() + w.slice(1);
        s += (i ? " " : "") + w;
        if (r.next() < 0.15) s += r.pick(PUNCT);
    }
    return s + (r.next() < 0.7 ? "." : "");
}

function gen_code(r) {
    let s = "";
    const n = 1 + r.int(3);
    for (let i = 0; i < n; i++) s += r.pick(CODE);
    return s;
}

function gen_number(r) {
    const k = r.int(8);
    const digits = (n) => { let d = ""; for (let i = 0; i < n; i++) d += String(r.int(10)); return d; };
    const len = 1 + r.int(r.next() < 0.8 ? 12 : 60);
    switch (k) {
    case 0: return digits(len);
    case 1: return digits(len) + "." + digits(1 + r.int(8));
    case 2: return "-" + digits(len) + "e" + digits(2);
    case 3: return "Price: $" + digits(len) + ",000.99 and " + digits(r.int(5) + 1) + "%";
    case 4: return "０１２３４５６７８９".slice(0, 1 + r.int(10)) + " ٣٤٥ ۱۲ ²³ ½ Ⅻ ⑦ " + digits(len);
    case 5: return digits(len) + "abc" + digits(len) + " " + digits(len);
    case 6: return "v" + digits(1) + "." + digits(2) + "." + digits(3) + " 0x" + digits(len) + "ff";
    default: return "2026-11-29T13:" + digits(2) + ":" + digits(2) + "Z " + digits(len);
    }
}

function gen_cjk(r) {
    let s = "";
    const n = 1 + r.int(25);
    for (let i = 0; i < n; i++) {
        const k = r.int(10);
        if (k < 4) s += cp(r, 0x4E00, 0x9FA5);
        else if (k === 4) s += cp(r, 0x3041, 0x3096);
        else if (k === 5) s += cp(r, 0x30A1, 0x30FA);
        else if (k === 6) s += cp(r, 0xAC00, 0xD7A3);
        else if (k === 7) s += r.pick(["，", "。", "、", "「", "」", "！", "？", "：", "（", "）", " ", "ー", "々"]);
        else if (k === 8) s += cp(r, 0x3400, 0x4DBF);
        else s += r.pick(["中文", "日本語", "한국어", "東京", "こんにちは", "カタカナ", "안녕하세요", "abc", "123"]);
    }
    return s;
}

function gen_emoji(r) {
    let s = "";
    const n = 1 + r.int(8);
    for (let i = 0; i < n; i++) s += r.pick(EMOJI) + (r.next() < 0.4 ? r.pick([" ", "", "\n", "a", "!"]) : "");
    return s;
}

function gen_marks(r) {
    let s = "";
    const n = 1 + r.int(6);
    for (let i = 0; i < n; i++) s += r.pick(MARKS) + (r.next() < 0.5 ? " " : "");
    return s;
}

function gen_ws(r) {
    let s = "";
    const n = 1 + r.int(8);
    for (let i = 0; i < n; i++) {
        const t = r.next();
        if (t < 0.5) s += r.pick(WS);
        else if (t < 0.6) s += " ".repeat(1 + r.int(40));
        else s += r.pick(["word", "x", "!", "12", "中", "é", "😀", ".", "\n"]);
    }
    return s;
}

function gen_special(r) {
    let s = "";
    const n = 1 + r.int(6);
    for (let i = 0; i < n; i++) s += r.next() < 0.5 ? r.pick(SPECIALS) : r.pick([" ", "Hello", "\n", "你好", "x", "!"]);
    return s;
}

// Assigned code points from many scripts and symbol blocks (category coverage).
const RANGES = [[0x20, 0x7E], [0xA0, 0x24F], [0x250, 0x2FF], [0x300, 0x36F], [0x370, 0x3FF], [0x400, 0x4FF],
    [0x530, 0x58F], [0x590, 0x5FF], [0x600, 0x6FF], [0x900, 0x97F], [0xE00, 0xE7F], [0x10A0, 0x10FF], [0x1E00, 0x1EFF],
    [0x2000, 0x206F], [0x2070, 0x209F], [0x20A0, 0x20C0], [0x2100, 0x214F], [0x2190, 0x21FF], [0x2200, 0x22FF],
    [0x2500, 0x257F], [0x2600, 0x26FF], [0x2700, 0x27BF], [0x3000, 0x303F], [0xFF00, 0xFFEF], [0x1F300, 0x1F5FF],
    [0x1D400, 0x1D7FF], [0x10400, 0x1044F], [0x1F600, 0x1F64F], [0xA000, 0xA48C], [0x1100, 0x11FF]];

function gen_scripts(r) {
    let s = "";
    const n = 1 + r.int(20);
    const rg = r.pick(RANGES);
    for (let i = 0; i < n; i++) {
        const g = r.next() < 0.7 ? rg : r.pick(RANGES);
        s += cp(r, g[0], g[1]);
    }
    return s;
}

function gen_random(r) { // any scalar value (BMP-heavy), category edge cases included
    let s = "";
    const n = 1 + r.int(16);
    for (let i = 0; i < n; i++) {
        let c;
        do { c = r.next() < 0.8 ? r.int(0x10000) : r.int(0x110000); } while (c >= 0xD800 && c <= 0xDFFF);
        s += String.fromCodePoint(c);
    }
    return s;
}

const GENS = {prose: gen_prose, code: gen_code, numbers: gen_number, cjk: gen_cjk, emoji: gen_emoji,
    marks: gen_marks, whitespace: gen_ws, special: gen_special, scripts: gen_scripts, random: gen_random};

function gen_invalid(r) {
    const parts = [];
    const n = 1 + r.int(6);
    for (let i = 0; i < n; i++) {
        const t = r.int(6);
        if (t === 0) parts.push(Buffer.from([0x80 + r.int(0x80)]));                     // any high byte
        else if (t === 1) parts.push(Buffer.from("€😀", "utf8").subarray(0, 1 + r.int(5))); // truncated sequence
        else if (t === 2) parts.push(Buffer.from([0xC0, 0xAF]));                          // overlong
        else if (t === 3) parts.push(Buffer.from([0xED, 0xA0, 0x80]));                    // encoded surrogate
        else if (t === 4) parts.push(Buffer.from([0xF4, 0x90, 0x80, 0x80, 0xFE, 0xFF]));  // > U+10FFFF, FE FF
        else parts.push(Buffer.from(GENS[r.pick(Object.keys(GENS))](r), "utf8"));
    }
    return Buffer.concat(parts);
}

export function makeCorpus(seed = 20261129, n = 6000) {
    const r = rng(seed);
    const kinds = Object.keys(GENS);
    const out = [];
    for (let i = 0; i < n; i++) {
        const t = i % (kinds.length + 2);
        let kind, bytes;
        if (t < kinds.length) {
            kind = kinds[t];
            bytes = Buffer.from(GENS[kind](r), "utf8");
        } else if (t === kinds.length) {
            kind = "mixed";
            let s = "";
            const m = 2 + r.int(5);
            for (let j = 0; j < m; j++) s += GENS[r.pick(kinds)](r) + r.pick(["", " ", "\n"]);
            bytes = Buffer.from(s, "utf8");
        } else {
            kind = "invalid";
            bytes = gen_invalid(r);
        }
        out.push({kind, bytes});
    }
    // fixed edge cases
    for (const s of ["", " ", "\n", "  \n\n  ", "a", "1234567", "'s", " 's", "\r\n\r\n", "Hello\n\nworld",
        "<｜begin▁of▁sentence｜><｜begin▁of▁sentence｜>", " ".repeat(3000), "a".repeat(5000), "9".repeat(1000),
        "😀".repeat(300), "\t".repeat(50) + "x"])
        out.push({kind: "edge", bytes: Buffer.from(s, "utf8")});
    return out;
}

// Bytes → JS string: valid UTF-8 decoded, invalid bytes as lone surrogates U+DC80..U+DCFF.
export function toJsonText(bytes) {
    let s = "";
    for (let i = 0; i < bytes.length;) {
        const b = bytes[i];
        let len = 0, lo = 0x80, hi = 0xBF;
        if (b < 0x80) len = 1;
        else if (b >= 0xC2 && b <= 0xDF) len = 2;
        else if (b >= 0xE0 && b <= 0xEF) { len = 3; if (b === 0xE0) lo = 0xA0; if (b === 0xED) hi = 0x9F; }
        else if (b >= 0xF0 && b <= 0xF4) { len = 4; if (b === 0xF0) lo = 0x90; if (b === 0xF4) hi = 0x8F; }
        let ok = len > 0 && i + len <= bytes.length;
        for (let k = 1; ok && k < len; k++) {
            const c = bytes[i + k];
            if (c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xBF)) ok = false;
        }
        if (ok) { s += bytes.subarray(i, i + len).toString("utf8"); i += len; }
        else { s += String.fromCharCode(0xDC00 + b); i += 1; }
    }
    return s;
}

export function isValidUtf8(bytes) {
    return !/[\uDC80-\uDCFF]/u.test(toJsonText(bytes));
}

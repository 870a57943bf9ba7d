//! A labelled corpus of files for evaluating file-type classifiers (magika), generated
//! from a seed: the same seed, count and generator version give the same bytes, so an
//! evaluation suite pins the corpus by the SHA-256 of its manifest and anyone can
//! regenerate and check it.
//!
//! Every file is real of its kind: source files in fifteen languages and text formats
//! built from typical constructs with varied names, numbers and layout; PNG images
//! (zlib-compressed scanlines, CRC-checked chunks), BMP images, ZIP archives (deflated
//! entries, central directory), gzip streams, tar archives (ustar headers), PDF
//! documents (objects, cross-reference table, trailer), WAV audio (PCM samples) and
//! ELF executables (x86-64 header and program header). Labels are magika's names.
//!
//! The manifest is `labels.csv`: a comment line naming the generator, seed and count
//! (`# verity-filetypes/v1 seed=S per_type=N`), a header `path,label,sha256`, then one
//! line per file in generation order. Its SHA-256 is the corpus digest recorded in
//! attestations.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::AiError;
use crate::rng::Rng;

/// The generator's version: part of the manifest, so a change of generator is a change
/// of corpus digest.
pub const GENERATOR: &str = "verity-filetypes/v1";
/// The manifest file name inside a corpus directory.
pub const MANIFEST: &str = "labels.csv";
/// Most files of each type.
pub const PER_TYPE_MAX: u32 = 10_000;

/// The labels the generator can make, in generation order.
pub const LABELS: &[&str] = &[
    "python",
    "javascript",
    "json",
    "html",
    "xml",
    "csv",
    "markdown",
    "c",
    "rust",
    "go",
    "java",
    "shell",
    "yaml",
    "css",
    "sql",
    "png",
    "bmp",
    "zip",
    "gzip",
    "tar",
    "pdf",
    "wav",
    "elf",
];

/// One generated file.
#[derive(Clone, Debug, PartialEq)]
pub struct CorpusFile {
    /// Relative path, `LABEL/NNNN.EXT`.
    pub path: String,
    pub label: String,
    pub bytes: Vec<u8>,
}

/// A generated corpus.
#[derive(Clone, Debug)]
pub struct Corpus {
    pub seed: u64,
    pub per_type: u32,
    pub files: Vec<CorpusFile>,
}

impl Corpus {
    /// `per_type` files of each of `labels` (all of [`LABELS`] when empty) from `seed`.
    pub fn generate(seed: u64, per_type: u32, labels: &[String]) -> Result<Corpus, AiError> {
        if per_type == 0 || per_type > PER_TYPE_MAX {
            return Err(AiError::InvalidConfig(format!("files per type must be 1 to {PER_TYPE_MAX}")));
        }
        let chosen: Vec<&str> = if labels.is_empty() {
            LABELS.to_vec()
        } else {
            let mut v = Vec::new();
            for l in labels {
                let known = LABELS.iter().find(|k| **k == l.as_str()).ok_or_else(|| {
                    AiError::InvalidConfig(format!(
                        "the corpus generator has no type {l:?} (it has {})",
                        LABELS.join(", ")
                    ))
                })?;
                if !v.contains(known) {
                    v.push(*known);
                }
            }
            v
        };
        let mut files = Vec::new();
        for label in chosen {
            // One stream per type: adding a type never changes another type's files.
            let mut rng = Rng::new(seed, &format!("corpus/{label}"));
            for i in 0..per_type {
                let (ext, bytes) = make(label, &mut rng);
                files.push(CorpusFile { path: format!("{label}/{i:04}.{ext}"), label: label.into(), bytes });
            }
        }
        Ok(Corpus { seed, per_type, files })
    }

    /// The manifest text (see the module docs).
    pub fn manifest(&self) -> String {
        let mut s = format!("# {GENERATOR} seed={} per_type={}\npath,label,sha256\n", self.seed, self.per_type);
        for f in &self.files {
            s.push_str(&format!("{},{},{}\n", f.path, f.label, hex::encode(Sha256::digest(&f.bytes))));
        }
        s
    }

    /// SHA-256 of the manifest: the corpus digest.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.manifest().as_bytes()).into()
    }

    /// Writes the files and the manifest under `dir` (created if missing); returns the
    /// paths of the files in corpus order.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, AiError> {
        let mut paths = Vec::with_capacity(self.files.len());
        for f in &self.files {
            let p = dir.join(&f.path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).map_err(|e| AiError::io(parent, e))?;
            }
            std::fs::write(&p, &f.bytes).map_err(|e| AiError::io(&p, e))?;
            paths.push(p);
        }
        let m = dir.join(MANIFEST);
        std::fs::write(&m, self.manifest()).map_err(|e| AiError::io(&m, e))?;
        Ok(paths)
    }
}

// ---------------------------------------------------------------------------------
// Building blocks.

const WORDS: &[&str] = &[
    "account", "batch", "buffer", "cache", "client", "config", "count", "data", "delta", "entry", "event", "field",
    "filter", "frame", "graph", "handle", "index", "item", "key", "ledger", "limit", "list", "model", "node", "offset",
    "order", "owner", "packet", "page", "parser", "path", "record", "region", "result", "route", "sample", "score",
    "session", "shard", "signal", "size", "state", "stream", "table", "token", "total", "user", "value", "vector",
    "window",
];

const PROSE: &[&str] = &[
    "the",
    "ledger",
    "records",
    "each",
    "model",
    "version",
    "with",
    "its",
    "training",
    "data",
    "and",
    "every",
    "evaluation",
    "is",
    "signed",
    "by",
    "an",
    "independent",
    "party",
    "so",
    "that",
    "partners",
    "can",
    "verify",
    "what",
    "was",
    "deployed",
    "when",
    "and",
    "why",
    "this",
    "section",
    "describes",
    "how",
    "to",
    "run",
    "a",
    "node",
];

impl Rng {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn ident(&mut self) -> String {
        let a = self.pick(WORDS);
        if self.below(2) == 0 {
            a.to_string()
        } else {
            format!("{a}_{}", self.pick(WORDS))
        }
    }
    fn camel(&mut self) -> String {
        let a = self.pick(WORDS);
        let b = self.pick(WORDS);
        format!("{}{}{}", &a[..1].to_uppercase(), &a[1..], capitalise(b))
    }
    fn sentence(&mut self) -> String {
        let n = self.range(6, 14) as usize;
        let mut words: Vec<&str> = (0..n).map(|_| self.pick(PROSE)).collect();
        let first = capitalise(words[0]);
        words[0] = &first;
        format!("{}.", words.join(" "))
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.below(256) as u8).collect()
    }
}

fn capitalise(w: &str) -> String {
    let mut c = w.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn repeat(rng: &mut Rng, lo: u64, hi: u64, mut f: impl FnMut(&mut Rng) -> String) -> String {
    let n = rng.range(lo, hi);
    (0..n).map(|_| f(rng)).collect()
}

fn make(label: &str, r: &mut Rng) -> (&'static str, Vec<u8>) {
    match label {
        "python" => ("py", python(r).into_bytes()),
        "javascript" => ("js", javascript(r).into_bytes()),
        "json" => ("json", json(r).into_bytes()),
        "html" => ("html", html(r).into_bytes()),
        "xml" => ("xml", xml(r).into_bytes()),
        "csv" => ("csv", csv(r).into_bytes()),
        "markdown" => ("md", markdown(r).into_bytes()),
        "c" => ("c", c_source(r).into_bytes()),
        "rust" => ("rs", rust(r).into_bytes()),
        "go" => ("go", go(r).into_bytes()),
        "java" => ("java", java(r).into_bytes()),
        "shell" => ("sh", shell(r).into_bytes()),
        "yaml" => ("yaml", yaml(r).into_bytes()),
        "css" => ("css", css(r).into_bytes()),
        "sql" => ("sql", sql(r).into_bytes()),
        "png" => ("png", png(r)),
        "bmp" => ("bmp", bmp(r)),
        "zip" => ("zip", zip(r)),
        "gzip" => ("gz", gzip(r)),
        "tar" => ("tar", tar(r)),
        "pdf" => ("pdf", pdf(r)),
        "wav" => ("wav", wav(r)),
        _ => ("elf", elf(r)),
    }
}

// ---------------------------------------------------------------------------------
// Text formats.

fn python(r: &mut Rng) -> String {
    let mut s = String::new();
    for m in ["os", "sys", "json", "logging", "dataclasses", "typing", "pathlib", "collections"] {
        if r.below(2) == 0 {
            s.push_str(&format!("import {m}\n"));
        }
    }
    s.push_str("from typing import Dict, List, Optional\n\n");
    s.push_str(&format!("LOG = logging.getLogger(__name__)\n{} = {}\n\n\n", r.ident().to_uppercase(), r.below(1000)));
    s += &repeat(r, 2, 4, |r| {
        let (f, a, b) = (r.ident(), r.ident(), r.ident());
        format!(
            "def {f}({a}: List[int], {b}: Optional[int] = None) -> Dict[str, int]:\n    \"\"\"{}\"\"\"\n    \
             result = {{}}\n    for i, item in enumerate({a}):\n        if {b} is not None and item > {b}:\n            \
             continue\n        result[str(i)] = item * {}\n    LOG.debug(\"{f}: %d items\", len(result))\n    return result\n\n\n",
            r.sentence(),
            r.range(2, 9)
        )
    });
    let c = r.camel();
    s.push_str(&format!(
        "class {c}:\n    def __init__(self, {a}, {b}=None):\n        self.{a} = {a}\n        self.{b} = {b} or []\n\n    \
         def __repr__(self):\n        return f\"{c}({{self.{a}!r}})\"\n\n    def add(self, value):\n        self.{b}.append(value)\n        \
         return len(self.{b})\n\n\nif __name__ == \"__main__\":\n    print({c}({n}).add({m}))\n",
        a = r.ident(),
        b = r.pick(WORDS),
        n = r.below(100),
        m = r.below(100)
    ));
    s
}

fn javascript(r: &mut Rng) -> String {
    let mut s = format!(
        "'use strict';\n\nconst {} = require('{}');\n",
        r.pick(WORDS),
        r.pick(&["fs", "path", "http", "events"])
    );
    s.push_str(&format!("const {} = {};\n\n", r.ident().to_uppercase(), r.below(5000)));
    s += &repeat(r, 2, 4, |r| {
        let (f, a) = (r.camel(), r.pick(WORDS));
        format!(
            "function load{f}({a}, options = {{}}) {{\n  const items = [];\n  for (let i = 0; i < {a}.length; i++) {{\n    \
             if ({a}[i] === undefined) {{\n      continue;\n    }}\n    items.push({{ id: i, value: {a}[i] * {} }});\n  }}\n  \
             console.log(`load{f}: ${{items.length}} items`);\n  return items;\n}}\n\n",
            r.range(2, 9)
        )
    });
    s.push_str(&format!(
        "const {} = async (url) => {{\n  const res = await fetch(url);\n  if (!res.ok) {{\n    throw new Error('request failed: ' + res.status);\n  }}\n  return res.json();\n}};\n\nmodule.exports = {{ {} }};\n",
        r.ident(),
        r.pick(WORDS)
    ));
    s
}

fn json_value(r: &mut Rng, depth: u32) -> String {
    match if depth > 2 { r.below(4) } else { r.below(6) } {
        0 => r.below(100_000).to_string(),
        1 => format!("\"{}\"", r.ident()),
        2 => ["true", "false", "null"][r.below(3) as usize].to_string(),
        3 => format!("{}.{}", r.below(1000), r.below(100)),
        4 => {
            let n = r.range(1, 4);
            let items: Vec<String> = (0..n).map(|_| json_value(r, depth + 1)).collect();
            format!("[{}]", items.join(", "))
        }
        _ => {
            let pad = "  ".repeat(depth as usize + 1);
            let n = r.range(2, 5);
            let items: Vec<String> =
                (0..n).map(|_| format!("{pad}\"{}\": {}", r.ident(), json_value(r, depth + 1))).collect();
            format!("{{\n{}\n{}}}", items.join(",\n"), "  ".repeat(depth as usize))
        }
    }
}

fn json(r: &mut Rng) -> String {
    let n = r.range(4, 10);
    let items: Vec<String> = (0..n).map(|_| format!("  \"{}\": {}", r.ident(), json_value(r, 1))).collect();
    format!("{{\n{}\n}}\n", items.join(",\n"))
}

fn html(r: &mut Rng) -> String {
    let title = r.sentence();
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n  <meta charset=\"utf-8\">\n  <title>{title}</title>\n  \
         <link rel=\"stylesheet\" href=\"/static/{}.css\">\n</head>\n<body>\n  <div class=\"{}\">\n    <h1>{title}</h1>\n",
        r.pick(WORDS),
        r.pick(WORDS)
    );
    s += &repeat(r, 2, 5, |r| {
        format!(
            "    <p>{} <a href=\"/{}/{}\">{}</a></p>\n    <ul>\n      <li>{}</li>\n      <li>{}</li>\n    </ul>\n",
            r.sentence(),
            r.pick(WORDS),
            r.below(100),
            r.pick(WORDS),
            r.sentence(),
            r.sentence()
        )
    });
    s.push_str("  </div>\n  <script src=\"/static/app.js\"></script>\n</body>\n</html>\n");
    s
}

fn xml(r: &mut Rng) -> String {
    let root = r.pick(WORDS);
    let mut s = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root}s version=\"{}\">\n", r.range(1, 5));
    s += &repeat(r, 3, 8, |r| {
        format!(
            "  <{root} id=\"{}\" type=\"{}\">\n    <name>{}</name>\n    <{k}>{}</{k}>\n    <description>{}</description>\n  </{root}>\n",
            r.below(10_000),
            r.pick(WORDS),
            r.ident(),
            r.below(1_000_000),
            r.sentence(),
            k = r.pick(WORDS)
        )
    });
    s.push_str(&format!("</{root}s>\n"));
    s
}

fn csv(r: &mut Rng) -> String {
    let cols = r.range(3, 7) as usize;
    let header: Vec<String> = (0..cols).map(|_| r.pick(WORDS).to_string()).collect();
    let mut s = format!("id,{}\n", header.join(","));
    let rows = r.range(20, 60);
    for i in 0..rows {
        let vals: Vec<String> = (0..cols)
            .map(|c| {
                if c % 2 == 0 {
                    r.below(100_000).to_string()
                } else {
                    format!("{}.{:02}", r.below(1000), r.below(100))
                }
            })
            .collect();
        s.push_str(&format!("{},{}\n", i + 1, vals.join(",")));
    }
    s
}

fn markdown(r: &mut Rng) -> String {
    let mut s = format!("# {}\n\n{}\n\n", capitalise(r.pick(WORDS)), r.sentence());
    s += &repeat(r, 2, 4, |r| {
        format!(
            "## {}\n\n{} {}\n\n- **{}**: {}\n- [{}](https://example.org/{})\n- `{}`\n\n```sh\nverity {} --{} {}\n```\n\n",
            capitalise(r.pick(WORDS)),
            r.sentence(),
            r.sentence(),
            r.pick(WORDS),
            r.sentence(),
            r.pick(WORDS),
            r.pick(WORDS),
            r.ident(),
            r.pick(WORDS),
            r.pick(WORDS),
            r.below(100)
        )
    });
    s
}

fn c_source(r: &mut Rng) -> String {
    let mut s = String::from("#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n\n");
    s.push_str(&format!("#define {} {}\n\n", r.ident().to_uppercase(), r.below(4096)));
    let st = r.ident();
    s.push_str(&format!("struct {st} {{\n    int id;\n    size_t len;\n    char *name;\n}};\n\n"));
    s += &repeat(r, 2, 4, |r| {
        let f = r.ident();
        format!(
            "static int {f}(const struct {st} *p, size_t n)\n{{\n    int total = 0;\n    for (size_t i = 0; i < n; i++) {{\n        \
             if (p[i].name == NULL)\n            continue;\n        total += p[i].id * {};\n    }}\n    return total;\n}}\n\n",
            r.range(2, 9)
        )
    });
    s.push_str(&format!(
        "int main(int argc, char **argv)\n{{\n    struct {st} *items = calloc({n}, sizeof(*items));\n    if (!items) {{\n        \
         perror(\"calloc\");\n        return 1;\n    }}\n    printf(\"%d\\n\", argc);\n    free(items);\n    return 0;\n}}\n",
        n = r.range(2, 64)
    ));
    s
}

fn rust(r: &mut Rng) -> String {
    let mut s = String::from("use std::collections::HashMap;\nuse std::fmt;\n\n");
    let st = r.camel();
    s.push_str(&format!(
        "#[derive(Debug, Clone, PartialEq)]\npub struct {st} {{\n    pub {}: u64,\n    pub {}: String,\n    items: Vec<u32>,\n}}\n\n",
        r.pick(WORDS),
        r.pick(WORDS)
    ));
    s.push_str(&format!("impl {st} {{\n"));
    s += &repeat(r, 2, 4, |r| {
        format!(
            "    pub fn {}(&self, limit: usize) -> Option<u32> {{\n        self.items.iter().take(limit).copied().max().map(|v| v * {})\n    }}\n\n",
            r.ident(),
            r.range(2, 9)
        )
    });
    s.push_str(&format!(
        "}}\n\nimpl fmt::Display for {st} {{\n    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {{\n        \
         write!(f, \"{st}({{}})\", self.items.len())\n    }}\n}}\n\nfn main() {{\n    let mut map: HashMap<&str, u32> = HashMap::new();\n    \
         map.insert(\"{}\", {});\n    println!(\"{{:?}}\", map);\n}}\n",
        r.pick(WORDS),
        r.below(1000)
    ));
    s
}

fn go(r: &mut Rng) -> String {
    let mut s = String::from("package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"strings\"\n)\n\n");
    let st = r.camel();
    s.push_str(&format!("type {st} struct {{\n\tID    int\n\tName  string\n\tItems []int\n}}\n\n"));
    s += &repeat(r, 2, 4, |r| {
        format!(
            "func (s *{st}) {}(limit int) (int, error) {{\n\tif limit <= 0 {{\n\t\treturn 0, fmt.Errorf(\"bad limit %d\", limit)\n\t}}\n\t\
             total := 0\n\tfor i, v := range s.Items {{\n\t\tif i >= limit {{\n\t\t\tbreak\n\t\t}}\n\t\ttotal += v * {}\n\t}}\n\treturn total, nil\n}}\n\n",
            r.camel(),
            r.range(2, 9)
        )
    });
    s.push_str(&format!(
        "func main() {{\n\ts := &{st}{{ID: {}, Name: strings.ToUpper(\"{}\")}}\n\tif len(os.Args) > 1 {{\n\t\tfmt.Println(s.Name)\n\t}}\n}}\n",
        r.below(1000),
        r.pick(WORDS)
    ));
    s
}

fn java(r: &mut Rng) -> String {
    let cls = r.camel();
    let mut s = format!(
        "package org.example.{};\n\nimport java.util.ArrayList;\nimport java.util.List;\nimport java.util.Map;\n\npublic class {cls} {{\n    \
         private final List<Integer> items = new ArrayList<>();\n    private String {} = \"{}\";\n\n",
        r.pick(WORDS),
        r.pick(WORDS),
        r.ident()
    );
    s += &repeat(r, 2, 4, |r| {
        format!(
            "    public int {}(int limit) {{\n        int total = 0;\n        for (int i = 0; i < items.size() && i < limit; i++) {{\n            \
             total += items.get(i) * {};\n        }}\n        return total;\n    }}\n\n",
            r.pick(WORDS),
            r.range(2, 9)
        )
    });
    s.push_str(&format!(
        "    public static void main(String[] args) {{\n        {cls} c = new {cls}();\n        System.out.println(c.toString() + \" {}\");\n    }}\n}}\n",
        r.pick(WORDS)
    ));
    s
}

fn shell(r: &mut Rng) -> String {
    let mut s = format!(
        "#!/usr/bin/env bash\nset -euo pipefail\n\n{}=\"${{1:-/var/lib/{}}}\"\nLOG=/tmp/{}.log\n\n",
        r.ident().to_uppercase(),
        r.pick(WORDS),
        r.pick(WORDS)
    );
    s += &repeat(r, 2, 4, |r| {
        let f = r.ident();
        format!(
            "{f}() {{\n  local dir=\"$1\"\n  if [ ! -d \"$dir\" ]; then\n    echo \"{f}: $dir is missing\" >&2\n    return 1\n  fi\n  \
             for f in \"$dir\"/*.{}; do\n    echo \"processing $f\" >> \"$LOG\"\n    grep -c '{}' \"$f\" || true\n  done\n}}\n\n",
            r.pick(&["txt", "log", "csv", "json"]),
            r.pick(WORDS)
        )
    });
    s.push_str("case \"${2:-run}\" in\n  run) echo started ;;\n  stop) exit 0 ;;\n  *) echo \"usage: $0 DIR [run|stop]\"; exit 2 ;;\nesac\n");
    s
}

fn yaml(r: &mut Rng) -> String {
    let mut s = format!("# {}\nversion: {}\nname: {}\n", r.sentence(), r.range(1, 3), r.ident());
    s += &repeat(r, 2, 4, |r| {
        format!(
            "{}:\n  enabled: {}\n  {}: {}\n  items:\n    - name: {}\n      value: {}\n    - name: {}\n      value: \"{}\"\n",
            r.pick(WORDS),
            ["true", "false"][r.below(2) as usize],
            r.pick(WORDS),
            r.below(10_000),
            r.ident(),
            r.below(100),
            r.ident(),
            r.pick(WORDS)
        )
    });
    s
}

fn css(r: &mut Rng) -> String {
    repeat(r, 5, 12, |r| {
        format!(
            ".{}-{} {{\n  display: {};\n  margin: {}px {}px;\n  color: #{:06x};\n  font-size: {}rem;\n}}\n\n",
            r.pick(WORDS),
            r.pick(WORDS),
            r.pick(&["block", "flex", "grid", "inline-block", "none"]),
            r.below(32),
            r.below(32),
            r.below(0x100_0000),
            r.range(1, 3)
        )
    })
}

fn sql(r: &mut Rng) -> String {
    let t = r.ident();
    let mut s = format!(
        "-- {}\nCREATE TABLE IF NOT EXISTS {t} (\n    id INTEGER PRIMARY KEY,\n    {} VARCHAR(255) NOT NULL,\n    {} INTEGER DEFAULT 0,\n    \
         created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP\n);\n\n",
        r.sentence(),
        r.pick(WORDS),
        r.pick(WORDS)
    );
    s += &repeat(r, 3, 8, |r| {
        format!("INSERT INTO {t} (id, name, total) VALUES ({}, '{}', {});\n", r.below(10_000), r.ident(), r.below(1000))
    });
    s.push_str(&format!(
        "\nSELECT name, SUM(total) AS total\nFROM {t}\nWHERE total > {}\nGROUP BY name\nORDER BY total DESC\nLIMIT {};\n",
        r.below(100),
        r.range(5, 50)
    ));
    s
}

// ---------------------------------------------------------------------------------
// Binary formats.

fn deflate(data: &[u8], zlib: bool) -> Vec<u8> {
    let level = flate2::Compression::new(6);
    if zlib {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), level);
        let _ = e.write_all(data);
        e.finish().unwrap_or_default()
    } else {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), level);
        let _ = e.write_all(data);
        e.finish().unwrap_or_default()
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut h = flate2::Crc::new();
    h.update(data);
    h.sum()
}

/// A smooth image with some noise (compresses like a photo, not like zeros).
fn pixels(r: &mut Rng, w: usize, h: usize, channels: usize) -> Vec<u8> {
    let (a, b, c) = (r.range(1, 7) as usize, r.range(1, 7) as usize, r.below(256) as usize);
    let mut out = Vec::with_capacity(w * h * channels);
    for y in 0..h {
        for x in 0..w {
            for ch in 0..channels {
                let base = (x * a + y * b + c + ch * 60) % 256;
                out.push((base + r.below(8) as usize) as u8);
            }
        }
    }
    out
}

fn png(r: &mut Rng) -> Vec<u8> {
    let (w, h) = (r.range(16, 48) as usize, r.range(16, 48) as usize);
    let px = pixels(r, w, h, 3);
    let mut raw = Vec::with_capacity((w * 3 + 1) * h);
    for row in px.chunks(w * 3) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(w as u32).to_be_bytes());
    ihdr.extend_from_slice(&(h as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &deflate(&raw, true));
    chunk(b"IEND", &[]);
    out
}

fn bmp(r: &mut Rng) -> Vec<u8> {
    let (w, h) = (r.range(16, 40) as usize, r.range(16, 40) as usize);
    let stride = (w * 3).div_ceil(4) * 4;
    let px = pixels(r, w, h, 3);
    let size = 54 + stride * h;
    let mut out = b"BM".to_vec();
    out.extend_from_slice(&(size as u32).to_le_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&(w as i32).to_le_bytes());
    out.extend_from_slice(&(h as i32).to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&((stride * h) as u32).to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&2835u32.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    for row in px.chunks(w * 3) {
        out.extend_from_slice(row);
        out.resize(out.len() + stride - w * 3, 0);
    }
    out
}

/// Members for archives: a few text files.
fn members(r: &mut Rng) -> Vec<(String, Vec<u8>)> {
    let n = r.range(2, 4);
    (0..n)
        .map(|i| {
            let (name, body) = match i % 3 {
                0 => (format!("{}.py", r.ident()), python(r)),
                1 => (format!("{}.json", r.ident()), json(r)),
                _ => (format!("{}.md", r.ident()), markdown(r)),
            };
            (format!("{}/{name}", r.pick(WORDS)), body.into_bytes())
        })
        .collect()
}

fn zip(r: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    let files = members(r);
    let (time, date) = (r.below(0xbf7d) as u16, (r.range(40, 45) as u16) << 9 | 1 << 5 | 1);
    for (name, data) in &files {
        let comp = deflate(data, false);
        let crc = crc32(data);
        let offset = out.len() as u32;
        let mut fields = Vec::new();
        fields.extend_from_slice(&20u16.to_le_bytes()); // version needed
        fields.extend_from_slice(&0u16.to_le_bytes()); // flags
        fields.extend_from_slice(&8u16.to_le_bytes()); // deflate
        fields.extend_from_slice(&time.to_le_bytes());
        fields.extend_from_slice(&date.to_le_bytes());
        fields.extend_from_slice(&crc.to_le_bytes());
        fields.extend_from_slice(&(comp.len() as u32).to_le_bytes());
        fields.extend_from_slice(&(data.len() as u32).to_le_bytes());
        fields.extend_from_slice(&(name.len() as u16).to_le_bytes());
        fields.extend_from_slice(&0u16.to_le_bytes()); // extra
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&fields);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&comp);
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&20u16.to_le_bytes()); // version made by
        central.extend_from_slice(&fields);
        central.extend_from_slice(&[0; 8]); // comment len, disk, internal attrs
        central.extend_from_slice(&0u32.to_le_bytes()); // external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn gzip(r: &mut Rng) -> Vec<u8> {
    let body = match r.below(3) {
        0 => csv(r),
        1 => json(r),
        _ => xml(r),
    }
    .into_bytes();
    let mut out = vec![0x1f, 0x8b, 8, 0];
    out.extend_from_slice(&(1_700_000_000 + r.below(50_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&[0, 3]); // no extra flags, Unix
    out.extend_from_slice(&deflate(&body, false));
    out.extend_from_slice(&crc32(&body).to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out
}

fn tar(r: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    let mtime = 1_700_000_000 + r.below(50_000_000);
    for (name, data) in members(r) {
        let mut h = [0u8; 512];
        let put = |h: &mut [u8; 512], at: usize, s: &[u8]| h[at..at + s.len()].copy_from_slice(s);
        put(&mut h, 0, name.as_bytes());
        put(&mut h, 100, b"0000644\0");
        put(&mut h, 108, b"0001750\0");
        put(&mut h, 116, b"0001750\0");
        put(&mut h, 124, format!("{:011o}\0", data.len()).as_bytes());
        put(&mut h, 136, format!("{mtime:011o}\0").as_bytes());
        put(&mut h, 148, b"        ");
        h[156] = b'0';
        put(&mut h, 257, b"ustar\x0000");
        put(&mut h, 265, b"verity");
        put(&mut h, 297, b"verity");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        put(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(&data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

fn pdf(r: &mut Rng) -> Vec<u8> {
    let text: Vec<String> = (0..r.range(3, 8)).map(|_| r.sentence()).collect();
    let mut stream = String::from("BT\n/F1 12 Tf\n72 720 Td\n");
    for t in &text {
        stream.push_str(&format!("({t}) Tj\n0 -16 Td\n"));
    }
    stream.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{stream}endstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = format!("%PDF-1.{}\n%\u{e2}\u{e3}\u{cf}\u{d3}\n", r.range(3, 7)).into_bytes();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let mut x = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        x.push_str(&format!("{o:010} 00000 n \n"));
    }
    x.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R /ID [<{}> <{}>] >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1,
        hex::encode(r.bytes(16)),
        hex::encode(r.bytes(16))
    ));
    out.extend_from_slice(x.as_bytes());
    out
}

fn wav(r: &mut Rng) -> Vec<u8> {
    let rate = [8000u32, 16000, 22050, 44100][r.below(4) as usize];
    let n = r.range(1500, 4000) as usize;
    let freq = r.range(110, 880) as f64;
    let mut samples = Vec::with_capacity(n * 2);
    for i in 0..n {
        let t = i as f64 / f64::from(rate);
        let v = (t * freq * std::f64::consts::TAU).sin() * 8000.0 + r.symmetric_f64() * 300.0;
        samples.extend_from_slice(&(v as i16).to_le_bytes());
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + samples.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    out.extend_from_slice(&samples);
    out
}

fn elf(r: &mut Rng) -> Vec<u8> {
    // x86-64 code: a run of common instruction encodings, then a string table.
    const OPS: &[&[u8]] = &[
        b"\x55",
        b"\x48\x89\xe5",
        b"\x48\x83\xec\x10",
        b"\x89\x7d\xfc",
        b"\x8b\x45\xfc",
        b"\x83\xc0\x01",
        b"\x48\x8b\x45\xf0",
        b"\xe8\x00\x00\x00\x00",
        b"\x31\xc0",
        b"\xc9",
        b"\xc3",
        b"\x0f\x1f\x44\x00\x00",
        b"\x48\x89\xc7",
        b"\x74\x05",
    ];
    let mut code = Vec::new();
    while code.len() < r.range(1500, 3000) as usize {
        code.extend_from_slice(OPS[r.below(OPS.len() as u64) as usize]);
    }
    let mut strtab = b"\0".to_vec();
    for _ in 0..r.range(10, 30) {
        strtab.extend_from_slice(r.ident().as_bytes());
        strtab.push(0);
    }
    strtab.extend_from_slice(b"GCC: (Debian 12.2.0-14) 12.2.0\0.shstrtab\0.text\0.comment\0");
    let entry = 0x401000u64;
    let mut out = Vec::new();
    out.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    out.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    out.extend_from_slice(&0x3eu16.to_le_bytes()); // x86-64
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&entry.to_le_bytes());
    out.extend_from_slice(&64u64.to_le_bytes()); // program headers
    let sh_off = 64 + 56 + code.len() + strtab.len();
    out.extend_from_slice(&(sh_off as u64).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for v in [64u16, 56, 1, 64, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    // PT_LOAD, R+X
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&5u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&(entry - 0x1000).to_le_bytes());
    out.extend_from_slice(&(entry - 0x1000).to_le_bytes());
    let total = (sh_off) as u64;
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(&0x1000u64.to_le_bytes());
    out.extend_from_slice(&code);
    out.extend_from_slice(&strtab);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_corpus_and_types_are_independent() {
        let a = Corpus::generate(3, 2, &[]).expect("corpus");
        let b = Corpus::generate(3, 2, &[]).expect("corpus");
        assert_eq!(a.digest(), b.digest());
        assert_eq!(a.files.len(), 2 * LABELS.len());
        let c = Corpus::generate(4, 2, &[]).expect("corpus");
        assert_ne!(a.digest(), c.digest());
        let only = Corpus::generate(3, 2, &["png".into()]).expect("corpus");
        let png_a: Vec<_> = a.files.iter().filter(|f| f.label == "png").cloned().collect();
        assert_eq!(only.files, png_a);
        assert!(Corpus::generate(3, 2, &["exe".into()]).is_err());
        assert!(Corpus::generate(3, 0, &[]).is_err());
    }

    #[test]
    fn binary_formats_are_well_formed() {
        let c = Corpus::generate(1, 3, &[]).expect("corpus");
        for f in &c.files {
            let b = &f.bytes;
            match f.label.as_str() {
                "png" => {
                    assert!(b.starts_with(b"\x89PNG\r\n\x1a\n"));
                    // IHDR's CRC covers its type and data.
                    assert_eq!(&b[29..33], &crc32(&b[12..29]).to_be_bytes());
                    let len = u32::from_be_bytes([b[33], b[34], b[35], b[36]]) as usize;
                    let mut d = flate2::read::ZlibDecoder::new(&b[41..41 + len]);
                    let mut raw = Vec::new();
                    std::io::Read::read_to_end(&mut d, &mut raw).expect("IDAT inflates");
                    let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]) as usize;
                    let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]) as usize;
                    assert_eq!(raw.len(), (w * 3 + 1) * h);
                }
                "gzip" => {
                    let mut d = flate2::read::GzDecoder::new(&b[..]);
                    let mut text = String::new();
                    std::io::Read::read_to_string(&mut d, &mut text).expect("gzip inflates and its CRC matches");
                    assert!(!text.is_empty());
                }
                "zip" => {
                    assert!(b.starts_with(b"PK\x03\x04"));
                    assert_eq!(&b[b.len() - 22..b.len() - 18], b"PK\x05\x06");
                }
                "tar" => {
                    assert_eq!(b.len() % 512, 0);
                    assert_eq!(&b[257..263], b"ustar\0");
                }
                "bmp" => assert_eq!(u32::from_le_bytes([b[2], b[3], b[4], b[5]]) as usize, b.len()),
                "wav" => assert_eq!(u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize + 8, b.len()),
                "elf" => assert!(b.starts_with(b"\x7fELF\x02\x01\x01")),
                "pdf" => assert!(b.starts_with(b"%PDF-1.") && b.ends_with(b"%%EOF\n")),
                "json" => {
                    serde_json::from_slice::<serde_json::Value>(b).expect("valid JSON");
                }
                _ => assert!(std::str::from_utf8(b).is_ok(), "{} is text", f.path),
            }
        }
    }

    #[test]
    fn manifest_lists_every_file_with_its_digest() {
        let c = Corpus::generate(9, 1, &["csv".into(), "elf".into()]).expect("corpus");
        let m = c.manifest();
        let lines: Vec<&str> = m.lines().collect();
        assert_eq!(lines[0], "# verity-filetypes/v1 seed=9 per_type=1");
        assert_eq!(lines[1], "path,label,sha256");
        assert_eq!(lines.len(), 4);
        assert!(lines[2].starts_with("csv/0000.csv,csv,"));
        assert!(lines[3].ends_with(&hex::encode(Sha256::digest(&c.files[1].bytes))));
        let dir = tempfile::tempdir().expect("tempdir");
        let paths = c.write(dir.path()).expect("write");
        assert_eq!(std::fs::read(&paths[1]).expect("read"), c.files[1].bytes);
        assert_eq!(std::fs::read_to_string(dir.path().join(MANIFEST)).expect("manifest"), m);
    }
}

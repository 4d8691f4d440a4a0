//! The only YAML and JSON writer of runway: turns `serde_json::Value`s into text.
//!
//! Rules, in the order a reader meets them:
//!
//! - **Block style only.** Mappings are `key: value`; a sequence under a key starts at the
//!   key's own column (`containers:\n- name: x`), as kubectl prints it; nested mappings are
//!   indented by 2. A mapping that is a sequence item starts on the dash line
//!   (`- name: x\n  image: y`), and so does a sequence in a sequence (`- - a`). Empty
//!   collections are `{}` and `[]`, null is `null`.
//! - **Keys sorted by bytes**, here in the writer, whatever order `serde_json::Map` iterates in
//!   (a dependency may turn on `preserve_order`). Keys are quoted by the same rules as values.
//! - **A plain scalar only where YAML 1.1 and 1.2 agree.** kubectl, Argo CD and Flux read YAML
//!   1.1 (go-yaml), PyYAML too, while serde_yaml reads 1.2. A string is written plain only if
//!   no reader of either version could take it for anything but that same string; otherwise
//!   it is single-quoted, or double-quoted with escapes when it holds a character that cannot
//!   be written raw (control characters, tabs, `\r`, NEL, U+2028/9, BOM, non-characters).
//!   Quoted: the empty string; null and bool words of either version (`~`, `null`, `y`, `no`,
//!   `on`, `OFF`, `True`, ...); anything shaped like an int or a float of either version or of
//!   go-yaml (`12`, `+1`, `0777`, `0x1F`, `0o17`, `0b1`, `1_000`, `12:30`, `1:20:30.5`, `1.5`,
//!   `.5`, `1e3`, `0_x1F`, `.inf`, `.NaN`, `nan`); 1.1 timestamps (`2001-12-14...`); `<<` and `=`;
//!   strings that start with an indicator (``- ? : , [ ] { } # & * ! | > ' " % @ ` ``), with a
//!   space or with `...`, that end with a space or `:`, or that contain `": "` or `" #"`. When
//!   in doubt we quote: quoting is always read back the same.
//! - **Numbers.** Integers as they are; floats as serde_json (ryu) formats them, made to read
//!   back as floats in YAML 1.1 too: always a `.` in the mantissa and a sign in the exponent
//!   (`1.0`, `1.0e+20`, `1.5e-7`).
//! - **Multi-line strings** are block literals (`|`, `|-` for no final newline, `|+` for more
//!   than one), content indented 2 deeper than the key or dash, with an explicit indentation
//!   indicator (`|2-`) when the first non-empty line starts with a space or a tab. A string
//!   made only of newlines, or holding a character that needs an escape (`\r` of CRLF
//!   included), is double-quoted instead. Keys are never block literals.
//! - **Keys longer than 1000 bytes** as written use the explicit `? key` form: YAML readers
//!   refuse an implicit key longer than 1024 characters.
//!
//! The writer appends to one `String` with `push_str`, allocates nothing per scalar (only a
//! mapping whose keys do not already iterate in order is sorted through a `Vec`), uses no
//! regex, and has no state: the same value always gives the same bytes.

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

/// Appends one YAML document for `value` (a mapping at the top, normally) to `out`, without
/// any `---` line.
///
/// It exists so that callers that build a larger text (a stream, a snapshot with a header)
/// write into their own buffer instead of concatenating returned `String`s. The document
/// always ends with a newline.
pub fn write_yaml_document(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) if !map.is_empty() => write_mapping(out, map, 0, false),
        Value::Array(items) if !items.is_empty() => write_sequence(out, items, 0, false),
        _ => {
            write_scalar(out, value, 0);
            out.push('\n');
        }
    }
}

/// Writes `values` as one YAML stream: documents separated by `---` lines, the first one not
/// preceded by `---`, each ending with a newline; no values give the empty string.
///
/// This is what `runway render` prints and what `kubectl apply -f -` reads: one document per
/// Kubernetes object.
pub fn to_yaml_stream<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (index, value) in values.into_iter().enumerate() {
        if index > 0 {
            out.push_str("---\n");
        }
        write_yaml_document(&mut out, value);
    }
    out
}

/// Writes `value` as pretty JSON: 2-space indent, keys sorted by bytes, a trailing newline.
///
/// It backs `--format json`. It is written here rather than with
/// `serde_json::to_string_pretty` so that key order does not depend on whether a dependency
/// turned on serde_json's `preserve_order`; the text is otherwise the same as serde_json's.
pub fn to_json_pretty(value: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, value, 0);
    out.push('\n');
    out
}

// ---------------------------------------------------------------------------------------------
// YAML structure

/// Keys whose written form is longer than this use the explicit `? key` syntax: PyYAML,
/// libyaml and go-yaml refuse implicit keys over 1024 characters; bytes over-count characters,
/// so this stays on the safe side.
const MAX_IMPLICIT_KEY_BYTES: usize = 1000;

/// Writes the entries of a non-empty mapping at column `indent`. With `first_inline`, the
/// cursor already sits at the right column (after `- `) for the first key.
fn write_mapping(out: &mut String, map: &Map<String, Value>, indent: usize, first_inline: bool) {
    let mut pending_indent = !first_inline;
    for_each_sorted(map, |key, value| {
        if pending_indent {
            push_indent(out, indent);
        }
        pending_indent = true;
        write_key(out, key, indent);
        write_value_after_colon(out, value, indent);
    });
}

/// Writes `key:` (or `? key\n:` for a very long key); the cursor is at column `indent`.
fn write_key(out: &mut String, key: &str, indent: usize) {
    let start = out.len();
    write_string(out, key, false, indent);
    if out.len() - start > MAX_IMPLICIT_KEY_BYTES {
        out.insert_str(start, "? ");
        out.push('\n');
        push_indent(out, indent);
    }
    out.push(':');
}

/// Writes what follows `key:` (whose key sits at column `indent`), through the final newline.
fn write_value_after_colon(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_mapping(out, map, indent + 2, false);
        }
        Value::Array(items) if !items.is_empty() => {
            // kubectl style: the dashes line up with the key.
            out.push('\n');
            write_sequence(out, items, indent, false);
        }
        _ => {
            out.push(' ');
            write_scalar(out, value, indent);
            out.push('\n');
        }
    }
}

/// Writes the items of a non-empty sequence, dashes at column `indent`. With `first_inline`,
/// the cursor already sits at that column (after an outer `- `) for the first dash.
fn write_sequence(out: &mut String, items: &[Value], indent: usize, first_inline: bool) {
    for (index, item) in items.iter().enumerate() {
        if index > 0 || !first_inline {
            push_indent(out, indent);
        }
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => write_mapping(out, map, indent + 2, true),
            Value::Array(inner) if !inner.is_empty() => {
                write_sequence(out, inner, indent + 2, true);
            }
            _ => {
                write_scalar(out, item, indent);
                out.push('\n');
            }
        }
    }
}

/// Writes a scalar (or an empty collection) without its final newline. `indent` is the column
/// of the key or dash that owns it: block literal content goes 2 deeper.
fn write_scalar(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_yaml_number(out, number),
        Value::String(text) => write_string(out, text, true, indent),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// Calls `f` on the entries of `map` in byte order of the keys. A map that already iterates in
/// order (serde_json's default `BTreeMap`) is walked as it is; otherwise the entries are sorted.
fn for_each_sorted<'a>(map: &'a Map<String, Value>, mut f: impl FnMut(&'a str, &'a Value)) {
    let mut previous: Option<&str> = None;
    let in_order = map.keys().all(|key| {
        let ordered = previous.is_none_or(|prev| prev.as_bytes() < key.as_bytes());
        previous = Some(key);
        ordered
    });
    if in_order {
        for (key, value) in map {
            f(key, value);
        }
    } else {
        let mut entries: Vec<(&'a String, &'a Value)> = map.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        for (key, value) in entries {
            f(key, value);
        }
    }
}

const SPACES: &str = "                                                                ";

fn push_indent(out: &mut String, mut width: usize) {
    while width > SPACES.len() {
        out.push_str(SPACES);
        width -= SPACES.len();
    }
    out.push_str(&SPACES[..width]);
}

// ---------------------------------------------------------------------------------------------
// YAML scalars

/// Writes a number. Floats get a `.` in the mantissa and a signed exponent, because YAML 1.1
/// (PyYAML) reads `1e20` and `1.5e20` as strings and `1` as an int.
fn write_yaml_number(out: &mut String, number: &Number) {
    let start = out.len();
    // Writing into a String cannot fail.
    let _ = write!(out, "{number}");
    if number.is_i64() || number.is_u64() {
        return;
    }
    match out[start..].find(['e', 'E']) {
        None => {
            if !out[start..].contains('.') {
                out.push_str(".0");
            }
        }
        Some(offset) => {
            let e = start + offset;
            let has_sign = matches!(out.as_bytes().get(e + 1), Some(b'+' | b'-'));
            if !has_sign {
                out.insert(e + 1, '+');
            }
            if !out[start..e].contains('.') {
                out.insert_str(e, ".0");
            }
        }
    }
}

/// How a string is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// A block literal; `indicator` adds the explicit indentation indicator `2`.
    Literal {
        indicator: bool,
        chomp: Chomp,
    },
}

/// Block scalar chomping: what happens to the final line breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chomp {
    /// `|-`: no final newline.
    Strip,
    /// `|`: exactly one final newline.
    Clip,
    /// `|+`: all final newlines kept.
    Keep,
}

/// Writes a string in the style [`choose_style`] picks; `indent` is the column of the key or
/// dash that owns it (block literal content goes 2 deeper).
fn write_string(out: &mut String, text: &str, allow_literal: bool, indent: usize) {
    match choose_style(text, allow_literal) {
        Style::Plain => out.push_str(text),
        Style::SingleQuoted => write_single_quoted(out, text),
        Style::DoubleQuoted => write_double_quoted(out, text),
        Style::Literal { indicator, chomp } => {
            write_literal(out, text, indent + 2, indicator, chomp);
        }
    }
}

/// What a one-pass scan of a string found.
#[derive(Default)]
struct Scan {
    /// A character that may not appear raw: it needs a double-quoted escape.
    needs_escape: bool,
    newline: bool,
    tab: bool,
}

fn scan(text: &str) -> Scan {
    let bytes = text.as_bytes();
    // Fast path for the common case, plain ASCII text (a CRD's descriptions are most of a
    // render's bytes): one branch-free pass that the compiler vectorizes.
    let (mut ctrl, mut high, mut newline) = (false, false, false);
    for &b in bytes {
        ctrl |= (b < 0x20) & (b != b'\n');
        high |= b >= 0x7f;
        newline |= b == b'\n';
    }
    if !ctrl && !high {
        return Scan { needs_escape: false, newline, tab: false };
    }
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let mut found = Scan::default();
    for (i, &byte) in bytes.iter().enumerate() {
        match byte {
            b'\n' => found.newline = true,
            b'\t' => found.tab = true,
            // C0 controls (`\r` included) and DEL.
            0x00..=0x1f | 0x7f => found.needs_escape = true,
            // U+0080..U+009F: C1 controls, NEL (a line break in YAML 1.1) among them.
            0xc2 if at(i + 1) < 0xa0 => found.needs_escape = true,
            // U+2028 and U+2029: line breaks in YAML 1.1.
            0xe2 if at(i + 1) == 0x80 && matches!(at(i + 2), 0xa8 | 0xa9) => {
                found.needs_escape = true;
            }
            // U+FEFF (BOM, which readers drop at a line start), U+FFFE and U+FFFF.
            0xef if (at(i + 1) == 0xbb && at(i + 2) == 0xbf)
                || (at(i + 1) == 0xbf && matches!(at(i + 2), 0xbe | 0xbf)) =>
            {
                found.needs_escape = true;
            }
            _ => {}
        }
        if found.needs_escape {
            break;
        }
    }
    found
}

fn choose_style(text: &str, allow_literal: bool) -> Style {
    if text.is_empty() {
        return Style::SingleQuoted;
    }
    let found = scan(text);
    if found.needs_escape {
        Style::DoubleQuoted
    } else if found.newline {
        match literal_style(text) {
            Some(style) if allow_literal => style,
            _ => Style::DoubleQuoted,
        }
    } else if found.tab {
        Style::DoubleQuoted
    } else if is_plain_safe(text) {
        Style::Plain
    } else {
        Style::SingleQuoted
    }
}

/// The block literal style for a multi-line string free of characters that need escapes, or
/// `None` when it must be double-quoted (a string of newlines only: a literal would have no
/// content line to hold them).
fn literal_style(text: &str) -> Option<Style> {
    let first_line = text.trim_start_matches('\n');
    if first_line.is_empty() {
        return None;
    }
    // An indentation indicator when the content itself starts with a space or a tab: otherwise
    // readers would take those spaces for indentation (and libyaml refuses a tab there).
    let indicator = first_line.starts_with([' ', '\t']);
    let trailing = text.len() - text.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => Chomp::Strip,
        1 => Chomp::Clip,
        _ => Chomp::Keep,
    };
    Some(Style::Literal { indicator, chomp })
}

/// Writes a block literal header and content, without the final newline (the caller writes
/// it). Empty lines are written without indentation.
fn write_literal(out: &mut String, text: &str, content_indent: usize, indicator: bool, chomp: Chomp) {
    out.push('|');
    if indicator {
        out.push('2');
    }
    match chomp {
        Chomp::Strip => out.push('-'),
        Chomp::Clip => {}
        Chomp::Keep => out.push('+'),
    }
    // "a\nb\n" splits into "a", "b", "": the final empty piece is the break the caller writes.
    let body = text.strip_suffix('\n').unwrap_or(text);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            push_indent(out, content_indent);
            out.push_str(line);
        }
    }
}

fn write_single_quoted(out: &mut String, text: &str) {
    out.push('\'');
    let mut rest = text;
    while let Some(pos) = rest.find('\'') {
        out.push_str(&rest[..=pos]);
        out.push('\'');
        rest = &rest[pos + 1..];
    }
    out.push_str(rest);
    out.push('\'');
}

/// Double-quoted, on one line. Only escapes that both PyYAML and libyaml know are used:
/// `\" \\ \n \t \r \xHH \uHHHH`.
fn write_double_quoted(out: &mut String, text: &str) {
    out.push('"');
    let mut run_start = 0;
    for (i, ch) in text.char_indices() {
        let escape: Option<&str> = match ch {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\t' => Some("\\t"),
            '\r' => Some("\\r"),
            '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{feff}'
            | '\u{fffe}'
            | '\u{ffff}' => Some(""),
            _ => None,
        };
        let Some(escape) = escape else { continue };
        out.push_str(&text[run_start..i]);
        run_start = i + ch.len_utf8();
        if escape.is_empty() {
            let code = u32::from(ch);
            let _ = if code <= 0xff { write!(out, "\\x{code:02X}") } else { write!(out, "\\u{code:04X}") };
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&text[run_start..]);
    out.push('"');
}

/// Whether a non-empty string without line breaks, tabs or characters needing escapes can be
/// written plain and read back as the same string by YAML 1.1 and 1.2 readers.
fn is_plain_safe(text: &str) -> bool {
    let bytes = text.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    // `-x` and `--flag` (container args) are plain scalars in both YAML versions: a dash is
    // an indicator only before a space. Number-like text (`-1`, `-.5`, `-inf`) is caught below.
    let flag_like = first == b'-'
        && match bytes.get(1) {
            Some(b) if b.is_ascii_alphabetic() => true,
            Some(b'-') => bytes.get(2).is_some_and(u8::is_ascii_alphabetic),
            _ => false,
        };
    if !flag_like
        && matches!(
            first,
            b'-' | b'?'
                | b':'
                | b','
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
                | b' '
        )
    {
        return false;
    }
    // A trailing space is dropped; a trailing `:` makes a mapping key.
    if last == b' ' || last == b':' {
        return false;
    }
    // `: ` starts a mapping value and ` #` a comment.
    if bytes.windows(2).any(|pair| pair[1] == b' ' && pair[0] == b':' || pair[1] == b'#' && pair[0] == b' ') {
        return false;
    }
    // `...` at a line start ends the document (a top-level scalar sits at column 0).
    if bytes.starts_with(b"...") {
        return false;
    }
    if bytes.len() <= 5 && is_reserved_word(text) {
        return false;
    }
    if (first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.' | b'i' | b'I' | b'n' | b'N'))
        && looks_like_number(bytes)
    {
        return false;
    }
    !looks_like_timestamp(bytes)
}

/// Null and bool words of YAML 1.1 and 1.2 (1.1's `y`/`n` included: go-yaml v2 reads them as
/// bools), the 1.1 merge key `<<` and the 1.1 value key `=`.
fn is_reserved_word(text: &str) -> bool {
    matches!(
        text,
        "~" | "null"
            | "Null"
            | "NULL"
            | "y"
            | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | "<<"
            | "="
    )
}

/// A generous superset of every int and float syntax of YAML 1.1 (PyYAML), YAML 1.2
/// (serde_yaml, which also takes anything Rust's `f64` parser takes) and go-yaml (which drops
/// all `_` before parsing): an optional sign, then a `0x`/`0o`/`0b` prefix with anything
/// after it, or infinity/NaN spelled any way, or digits and `_` with optional `:` groups
/// (sexagesimal), an optional `.` fraction and an optional exponent.
fn looks_like_number(bytes: &[u8]) -> bool {
    let t = match bytes.first() {
        // No reader takes a leading `_` for a number (go-yaml picks its resolver by the first
        // character; the others need a digit, sign or dot first).
        Some(b'_') | None => return false,
        Some(b'+' | b'-') => &bytes[1..],
        _ => bytes,
    };
    // go-yaml drops every `_` before it looks for the prefix: `0_x1F` is 31 there.
    let mut significant = t.iter().filter(|&&c| c != b'_');
    if significant.next() == Some(&b'0') && matches!(significant.next().map(|c| c | 0x20), Some(b'x' | b'o' | b'b')) {
        return true;
    }
    for word in [".inf", ".nan", "inf", "nan", "infinity", ".infinity"] {
        if t.eq_ignore_ascii_case(word.as_bytes()) {
            return true;
        }
    }
    let digitish = |c: u8| c.is_ascii_digit() || c == b'_';
    let n = t.len();
    let mut i = 0;
    let mut digits = 0;
    let mut eat_digits = |i: &mut usize| {
        while *i < n && digitish(t[*i]) {
            *i += 1;
            digits += 1;
        }
    };
    eat_digits(&mut i);
    while i < n && t[i] == b':' {
        i += 1;
        eat_digits(&mut i);
    }
    if i < n && t[i] == b'.' {
        i += 1;
        eat_digits(&mut i);
    }
    if digits == 0 {
        return false;
    }
    if i < n && t[i] | 0x20 == b'e' {
        i += 1;
        if i < n && matches!(t[i], b'+' | b'-') {
            i += 1;
        }
        let exponent_start = i;
        while i < n && digitish(t[i]) {
            i += 1;
        }
        if i == exponent_start {
            return false;
        }
    }
    i == n
}

/// YAML 1.1 timestamps (and go-yaml's) all start with a 4-digit year, `-` and a digit.
fn looks_like_timestamp(bytes: &[u8]) -> bool {
    bytes.len() >= 6 && bytes[..4].iter().all(u8::is_ascii_digit) && bytes[4] == b'-' && bytes[5].is_ascii_digit()
}

// ---------------------------------------------------------------------------------------------
// JSON

fn write_json(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => {
            let _ = write!(out, "{number}");
        }
        Value::String(text) => write_json_string(out, text),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                out.push_str(if index == 0 { "\n" } else { ",\n" });
                push_indent(out, indent + 2);
                write_json(out, item, indent + 2);
            }
            out.push('\n');
            push_indent(out, indent);
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            let mut first = true;
            for_each_sorted(map, |key, item| {
                out.push_str(if first { "\n" } else { ",\n" });
                first = false;
                push_indent(out, indent + 2);
                write_json_string(out, key);
                out.push_str(": ");
                write_json(out, item, indent + 2);
            });
            out.push('\n');
            push_indent(out, indent);
            out.push('}');
        }
    }
}

/// serde_json's escaping: `\"`, `\\`, `\b \f \n \r \t`, other C0 controls as `\u00xx`.
fn write_json_string(out: &mut String, text: &str) {
    out.push('"');
    let mut run_start = 0;
    for (i, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[run_start..i]);
        run_start = i + 1;
        if escape.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&text[run_start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Writes `value` as one document, checks the exact text, and reads it back with
    /// serde_yaml (YAML 1.2) expecting the same value.
    fn check(value: Value, expected: &str) {
        let written = to_yaml_stream([&value]);
        assert_eq!(written, expected, "exact text for {value:?}");
        assert_reads_back(&value, &written);
    }

    fn assert_reads_back(value: &Value, written: &str) {
        let read: Value = serde_yaml::from_str(written)
            .unwrap_or_else(|err| panic!("serde_yaml cannot read\n{written}\nerror: {err}"));
        assert_eq!(&read, value, "read back differs; written:\n{written}");
    }

    /// `{"k": text}` must be written as `k: {expected}\n`.
    fn check_value(text: &str, expected: &str) {
        check(json!({ "k": text }), &format!("k: {expected}\n"));
    }

    fn map_of(entries: &[(&str, Value)]) -> Value {
        Value::Object(entries.iter().map(|(key, value)| ((*key).to_owned(), value.clone())).collect())
    }

    // ---- structure -------------------------------------------------------------------------

    #[test]
    fn mapping_keys_are_sorted_by_bytes() {
        check(
            json!({ "b": 1, "a-b": 2, "aa": 3, "a": 4, "B": 5, "é": 6, "_": 7 }),
            "B: 5\n_: 7\na: 4\na-b: 2\naa: 3\nb: 1\né: 6\n",
        );
    }

    #[test]
    fn keys_inserted_out_of_order_are_written_sorted() {
        // With serde_json's `preserve_order` this map iterates z, m, a and the writer sorts.
        let mut map = Map::new();
        for key in ["z", "m", "a"] {
            map.insert(key.to_owned(), json!(key));
        }
        check(Value::Object(map), "a: a\nm: m\nz: z\n");
    }

    #[test]
    fn nested_mapping_is_indented_by_two() {
        check(
            json!({ "metadata": { "labels": { "app": "web" }, "name": "web" } }),
            "metadata:\n  labels:\n    app: web\n  name: web\n",
        );
    }

    #[test]
    fn sequence_under_key_starts_at_key_column() {
        check(json!({ "spec": { "args": ["--port", "80"] } }), "spec:\n  args:\n  - --port\n  - '80'\n");
    }

    #[test]
    fn mapping_in_sequence_starts_on_dash_line() {
        check(
            json!({ "containers": [
                { "name": "x", "image": "y", "ports": [{ "containerPort": 80, "name": "http" }] },
                { "name": "z" }
            ] }),
            concat!(
                "containers:\n",
                "- image: 'y'\n",
                "  name: x\n",
                "  ports:\n",
                "  - containerPort: 80\n",
                "    name: http\n",
                "- name: z\n",
            ),
        );
    }

    #[test]
    fn sequence_in_sequence_nests_on_dash_line() {
        check(json!([["a", "b"], [["c"], { "d": ["e"] }], "f"]), "- - a\n  - b\n- - - c\n  - d:\n    - e\n- f\n");
    }

    #[test]
    fn empty_collections_are_flow_style() {
        check(json!({ "a": {}, "b": [], "c": [{}, [], { "d": {} }] }), "a: {}\nb: []\nc:\n- {}\n- []\n- d: {}\n");
    }

    #[test]
    fn top_level_scalars_and_empty_collections_are_one_line_documents() {
        check(json!(null), "null\n");
        check(json!("text"), "text\n");
        check(json!("on"), "'on'\n");
        check(json!({}), "{}\n");
        check(json!([]), "[]\n");
        check(json!("a\nb\n"), "|\n  a\n  b\n");
    }

    #[test]
    fn null_bools_and_integers_are_plain() {
        check(
            json!({ "z": null, "t": true, "f": false, "i": -12, "u": u64::MAX, "m": i64::MIN }),
            concat!(
                "f: false\n",
                "i: -12\n",
                "m: -9223372036854775808\n",
                "t: true\n",
                "u: 18446744073709551615\n",
                "z: null\n",
            ),
        );
    }

    #[test]
    fn float_with_integral_value_keeps_its_fraction() {
        check(json!({ "a": 1.0, "b": -0.0, "c": 0.5 }), "a: 1.0\nb: -0.0\nc: 0.5\n");
    }

    #[test]
    fn float_exponent_gets_a_dot_and_a_sign() {
        // PyYAML reads 1e20 and 1.5e20 as strings: YAML 1.1 floats need both.
        check(json!({ "a": 1e20, "b": 1.5e-7, "c": 1.5e300 }), "a: 1.0e+20\nb: 1.5e-7\nc: 1.5e+300\n");
    }

    #[test]
    fn stream_separates_documents_with_dashes() {
        let docs = [json!({ "a": 1 }), json!("x\n"), json!(null), json!({ "b": [1] })];
        let written = to_yaml_stream(&docs);
        assert_eq!(written, "a: 1\n---\n|\n  x\n---\nnull\n---\nb:\n- 1\n");
        let read: Vec<Value> = serde_yaml::Deserializer::from_str(&written)
            .map(|doc| <Value as serde::Deserialize>::deserialize(doc).expect("document"))
            .collect();
        assert_eq!(read, docs);
    }

    #[test]
    fn empty_stream_is_empty_string() {
        assert_eq!(to_yaml_stream(&[]), "");
    }

    #[test]
    fn write_yaml_document_appends_without_separator() {
        let mut out = String::from("# head\n");
        write_yaml_document(&mut out, &json!({ "a": 1 }));
        assert_eq!(out, "# head\na: 1\n");
    }

    #[test]
    fn output_is_deterministic() {
        let value = json!({ "z": [1, { "b": "x", "a": "y\nz" }], "a": "on" });
        assert_eq!(to_yaml_stream([&value]), to_yaml_stream([&value]));
        assert_eq!(to_json_pretty(&value), to_json_pretty(&value));
    }

    // ---- plain or quoted -------------------------------------------------------------------

    /// Each whitespace-separated word of `words` is written quoted: `'word'`.
    fn check_quoted_words(words: &str) {
        for word in words.split_whitespace() {
            check_value(word, &format!("'{word}'"));
        }
    }

    #[test]
    fn ordinary_strings_stay_plain() {
        let words = "web nginx:1.25.3 quay.io/prometheus/prometheus:v2.45.0 1.2.3 v1 100m 512Mi \
                     10s 2001:db8::1 127.0.0.1 10.0.0.0/8 80/TCP app.kubernetes.io/name \
                     http://example.com/a?b=c#d a:b a#b _ _1a x-- héllo 日本語 😀 a\u{a0} \
                     .dockerconfigjson C:\\path it's 12:30pm yes-please nullable <none> \
                     3f2a9c0e1b7d 1e5x";
        for text in words.split_whitespace().chain(["a b", "wörld of words"]) {
            check_value(text, text);
        }
    }

    #[test]
    fn empty_string_is_quoted() {
        check_value("", "''");
    }

    #[test]
    fn string_on_is_quoted() {
        check_value("on", "'on'");
    }

    #[test]
    fn yaml11_bool_words_are_quoted() {
        check_quoted_words("y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off OFF");
    }

    #[test]
    fn null_words_are_quoted() {
        check_quoted_words("~ null Null NULL");
    }

    #[test]
    fn integer_like_strings_are_quoted() {
        check_quoted_words("0 12 +1 -1 0777 00 1_000 1__ +_1 0x1F 0X1f -0x1 0o17 0b101 0b 18446744073709551616");
    }

    #[test]
    fn go_yaml_underscore_prefixed_ints_are_quoted() {
        // go-yaml removes every `_` before parsing: `0_x1F` reads as 31 there.
        check_quoted_words("0_x1F +_0x1 0_b1 0__o7");
    }

    #[test]
    fn float_like_strings_are_quoted() {
        check_quoted_words("1.5 1. .5 -.5 +.5 1e3 1E3 1e+3 1.0e-3 1e_5 ._ ._5 1e400 1_000.5");
    }

    #[test]
    fn infinity_and_nan_are_quoted() {
        check_quoted_words(".inf .Inf .INF -.inf +.inf .nan .NaN .NAN inf nan NaN Infinity");
    }

    #[test]
    fn sexagesimal_strings_are_quoted() {
        check_quoted_words("12:30 1:20:30.5 190:20:30 -1:20 12:30:00");
    }

    #[test]
    fn timestamp_strings_are_quoted() {
        check_quoted_words("2001-12-14 2002-1-1 2001-12-14t21:59:43.10-05:00 2001-12-15T02:59:43.1Z");
        check_value("2001-12-14 21:59:43.10 -5", "'2001-12-14 21:59:43.10 -5'");
    }

    #[test]
    fn strings_starting_with_an_indicator_are_quoted() {
        check_quoted_words("- --- ? : :a , [a] ] } #a &a *a !a !!str | > %a @a `a");
        check_value("- a", "'- a'");
        check_value("? a", "'? a'");
        check_value("{a: b}", "'{a: b}'");
        check_value("'q'", "'''q'''");
        check_value("\"q\"", "'\"q\"'");
    }

    #[test]
    fn document_end_marker_is_quoted() {
        check_value("...", "'...'");
        check_value("... x", "'... x'");
        check(json!("... x"), "'... x'\n");
    }

    #[test]
    fn leading_or_trailing_space_is_quoted() {
        check_value(" a", "' a'");
        check_value("a ", "'a '");
        check_value(" ", "' '");
    }

    #[test]
    fn colon_space_and_space_hash_are_quoted() {
        check_value("key: value", "'key: value'");
        check_value("a #b", "'a #b'");
        check_value("a:", "'a:'");
    }

    #[test]
    fn merge_and_value_keys_are_quoted() {
        check_value("<<", "'<<'");
        check_value("=", "'='");
        check(json!({ "<<": "=" }), "'<<': '='\n");
    }

    #[test]
    fn single_quotes_inside_are_doubled() {
        check_value("'it''s'", "'''it''''s'''");
        check_value(" it's", "' it''s'");
    }

    #[test]
    fn tab_uses_double_quotes() {
        check_value("a\tb", "\"a\\tb\"");
        check_value("\t", "\"\\t\"");
    }

    #[test]
    fn control_characters_are_escaped() {
        check_value("a\u{0}b\u{7}\u{1b}[0m\u{7f}", "\"a\\x00b\\x07\\x1B[0m\\x7F\"");
        check_value("cr\r", "\"cr\\r\"");
        check_value("\u{80}\u{9f}", "\"\\x80\\x9F\"");
        check_value("q\"\\", "q\"\\");
        check_value("\u{1}\"\\", "\"\\x01\\\"\\\\\"");
    }

    #[test]
    fn yaml11_line_breaks_are_escaped() {
        check_value("a\u{85}b", "\"a\\x85b\"");
        check_value("a\u{2028}b\u{2029}", "\"a\\u2028b\\u2029\"");
    }

    #[test]
    fn bom_and_noncharacters_are_escaped() {
        check_value("\u{feff}a", "\"\\uFEFFa\"");
        check_value("\u{fffe}\u{ffff}", "\"\\uFFFE\\uFFFF\"");
    }

    #[test]
    fn keys_follow_value_quoting_rules() {
        check(
            json!({ "on": "on", "80": 80, "": "", "a b": "c", "x: y": 1 }),
            "'': ''\n'80': 80\na b: c\n'on': 'on'\n'x: y': 1\n",
        );
    }

    #[test]
    fn multiline_key_is_double_quoted() {
        check(json!({ "a\nb": "c" }), "\"a\\nb\": c\n");
    }

    #[test]
    fn very_long_key_uses_explicit_key_syntax() {
        let key = "k".repeat(1100);
        let value = map_of(&[(&key, json!({ "a": [1] })), ("z", json!(2))]);
        check(value, &format!("? {key}\n:\n  a:\n  - 1\nz: 2\n"));
        let value = json!([map_of(&[(&key, json!(["x"])), ("z", json!("s\n"))])]);
        check(value, &format!("- ? {key}\n  :\n  - x\n  z: |\n    s\n"));
    }

    // ---- block literals --------------------------------------------------------------------

    #[test]
    fn multiline_with_one_trailing_newline_uses_clip_chomping() {
        check_value("a\nb\n", "|\n  a\n  b");
    }

    #[test]
    fn multiline_without_trailing_newline_uses_strip_chomping() {
        check_value("a\nb", "|-\n  a\n  b");
    }

    #[test]
    fn multiline_with_several_trailing_newlines_uses_keep_chomping() {
        check_value("a\nb\n\n\n", "|+\n  a\n  b\n\n");
    }

    #[test]
    fn multiline_with_empty_lines_inside() {
        check_value("a\n\n\nb\n", "|\n  a\n\n\n  b");
        check_value("\n\na", "|-\n\n\n  a");
    }

    #[test]
    fn multiline_starting_with_space_gets_indentation_indicator() {
        check_value("  a\nb\n", "|2\n    a\n  b");
        check_value("\n a", "|2-\n\n   a");
    }

    #[test]
    fn multiline_starting_with_tab_gets_indentation_indicator() {
        // libyaml refuses a tab where it detects the indentation.
        check_value("\ta\nb\n", "|2\n  \ta\n  b");
        check_value("a\n\tb\n", "|\n  a\n  \tb");
    }

    #[test]
    fn multiline_with_whitespace_only_lines_keeps_them() {
        check_value("a\n  \nb\n", "|\n  a\n    \n  b");
        check_value("a\n  ", "|-\n  a\n    ");
        check_value("a\n  \n", "|\n  a\n    ");
        check_value("   \na", "|2-\n     \n  a");
        check_value(" \n ", "|2-\n   \n   ");
    }

    #[test]
    fn multiline_with_trailing_spaces_on_lines() {
        check_value("a  \nb \n", "|\n  a  \n  b ");
    }

    #[test]
    fn multiline_of_only_newlines_is_double_quoted() {
        check_value("\n", "\"\\n\"");
        check_value("\n\n", "\"\\n\\n\"");
    }

    #[test]
    fn multiline_with_crlf_is_double_quoted() {
        check_value("a\r\nb\r\n", "\"a\\r\\nb\\r\\n\"");
    }

    #[test]
    fn multiline_with_yaml_syntax_inside_stays_literal() {
        check_value(
            "# comment\nkey: value\n- item\n---\n...\n",
            "|\n  # comment\n  key: value\n  - item\n  ---\n  ...",
        );
    }

    #[test]
    fn block_literals_in_sequences_indent_past_the_dash() {
        check(
            json!({ "a": ["x\ny\n", [" p\nq"], { "b": "m\nn" }] }),
            "a:\n- |\n  x\n  y\n- - |2-\n     p\n    q\n- b: |-\n    m\n    n\n",
        );
    }

    // ---- JSON ------------------------------------------------------------------------------

    #[test]
    fn json_is_pretty_sorted_with_trailing_newline() {
        let value = json!({
            "b": [1, 2.5, { "d": null, "c": "x\"\\\n\u{1}é" }],
            "a": {}, "e": [], "f": true
        });
        let expected = r#"{
  "a": {},
  "b": [
    1,
    2.5,
    {
      "c": "x\"\\\n\u0001é",
      "d": null
    }
  ],
  "e": [],
  "f": true
}
"#;
        assert_eq!(to_json_pretty(&value), expected);
        // The same text serde_json writes (its maps iterate sorted unless `preserve_order`).
        let serde_pretty = serde_json::to_string_pretty(&value).expect("serializes") + "\n";
        assert_eq!(expected, serde_pretty);
        let read: Value = serde_json::from_str(expected).expect("valid JSON");
        assert_eq!(read, value);
    }

    #[test]
    fn json_scalar_document() {
        assert_eq!(to_json_pretty(&json!("a\tb")), "\"a\\tb\"\n");
    }

    // ---- property-style --------------------------------------------------------------------

    // Strings that have tripped YAML writers, plus every short string over an alphabet of
    // number, indicator and whitespace characters.
    include!("../testdata/tricky_strings.rs");

    /// `text` as a key and a value at several depths, in mappings and sequences.
    fn embed(text: &str) -> Value {
        let s = || json!(text);
        let inner = map_of(&[(text, json!([s(), map_of(&[(text, s())])])), ("n", s())]);
        map_of(&[
            ("k", s()),
            (text, s()),
            ("list", json!([s(), [s(), [s()]], inner])),
            ("nested", json!({ "deeper": { "leaf": s() } })),
        ])
    }

    #[test]
    fn tricky_strings_read_back_the_same_in_any_position() {
        let corpus = tricky_strings();
        assert!(corpus.len() > 16_000);
        for text in &corpus {
            let value = embed(text);
            let written = to_yaml_stream([&value]);
            assert_reads_back(&value, &written);
            // And as a document of its own.
            assert_reads_back(&json!(text), &to_yaml_stream([&json!(text)]));
        }
    }

    #[test]
    fn plain_output_is_never_a_reserved_or_numeric_word() {
        // Belt and braces over the resolver rules: whatever is written plain must not be a
        // word or number of YAML 1.1 either (serde_yaml alone cannot tell).
        for text in tricky_strings() {
            if choose_style(&text, true) == Style::Plain {
                assert!(!is_reserved_word(&text), "{text:?}");
                assert!(!looks_like_number(text.as_bytes()), "{text:?}");
                assert!(!looks_like_timestamp(text.as_bytes()), "{text:?}");
            }
        }
    }
}

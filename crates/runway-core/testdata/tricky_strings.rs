// The corpus of strings that have tripped YAML writers, shared by the emitter's unit
// tests (src/emit.rs) and the YAML 1.1 read-back test (tests/yaml11_readback.rs) with
// `include!`, so both check the very same strings.

#[rustfmt::skip] // a data table, kept compact
fn tricky_strings() -> Vec<String> {
    let mut words: Vec<String> = [
        "", " ", "  ", "~", "null", "Null", "NULL", "nULL", "y", "Y", "yes", "Yes", "YES", "yEs",
        "n", "N", "no", "No", "NO", "true", "True", "TRUE", "tRUE", "false", "False", "FALSE",
        "on", "On", "ON", "oN", "off", "Off", "OFF", "<<", "=", "-", "--", "---", "...", "?",
        ":", "-a", "- a", "? a", ": a", "a:", "a: b", "a:b", "a #b", "a#b", "#a", "&a", "*a",
        "!a", "!!str", "|", ">", "'", "\"", "%a", "@a", "`a", ",", "[", "]", "{", "}", "[a]",
        "{a: b}", "a,b", "0", "1", "-1", "+1", "01", "0777", "0o17", "0x1F", "0X1f", "0b101",
        "1_000", "1__", "_1", "+_1", "1.5", "1.", ".5", "-.5", "+.5", "1e3", "1E3", "1e+3",
        "1.0e-3", "1e", ".e5", ".inf", "-.inf", "+.inf", ".Inf", ".INF", ".nan", ".NaN", "inf",
        "nan", "NaN", "infinity", "-Infinity", "12:30", "1:20:30.5", "-1:20", "190:20:30",
        "12:30pm", "1.2.3", "v1.2.3", "1.2.3-rc1", "100m", "512Mi", "1Gi", "10s", "0.5",
        "1_000.5", "._", "._5", "1e_5", "0.", "00", "-0", "+0", "0x", "0b", "0_x1F", "+_0x1",
        "0_b1", "0__o7", "1:2:3:4", "2001:db8::1", "127.0.0.1", "10.0.0.0/8", "8080", "80/TCP",
        "1e400", "18446744073709551616", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
        "2001-12-14 21:59:43.10 -5", "2001-12-15T02:59:43.1Z", "2002-1-1", "2024-foo",
        "20240101", "héllo", "日本語", "emoji 😀", "👍🏽", "👨‍👩‍👧", "\u{a0}", "a\u{a0}", "\u{a0}a",
        "\u{200b}", "\u{3000}", "\u{feff}", "a\u{feff}b", "\u{85}", "\u{2028}", "a\u{2029}b",
        "\u{fffe}", "\u{ffff}", "\u{7f}", "\u{80}", "\u{9f}", "\u{e000}", "\u{10ffff}", "\u{0}",
        "\u{1b}[31mred\u{1b}[0m", " a", "a ", "\ta", "a\t", "a\tb", "\t", "a  b", "a\nb",
        "a\nb\n", "a\nb\n\n", "\n", "\n\n", "\na", " a\nb", "  a\n b\n", "\ta\nb", "a\n  \nb",
        "a\n  ", "a\n  \n", "   \na", "a\r\nb\r\n", "a\rb", "\r", "\r\n", "trailing space \nnext",
        "# comment\nfoo: bar\n", "---\nfoo\n...\n", "key: value\n", "- item\n", "a\n\n\nb",
        "\n a", "a\n\tb", "a\n\t", "\t\n", " \n", " \n ", "a\u{2028}b\n", "x\n  y\n    z\n",
        "😀\n日本\n", "key: value", "foo: bar", "http://example.com", "https://a.b/c?d=e#f",
        "C:\\path", "a\\nb", "\\", "'quoted'", "\"dq\"", "it's", "say \"hi\"", "...\n", "--- a",
        "... a", "|\n", ">\n a", "- \n", "a:\n b", "#!/bin/sh\nset -e\necho \"$1\"\n",
        "{{ .Values.x }}", "${VAR}", "*", "&", "!", "--port", "--port=80", "-inf", "-Inf", "-nan", "-e5", "--1", "-y", "-n", "--no",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    words.push("k".repeat(1100));
    words.push(format!("{}\n{}", "x".repeat(2000), " y".repeat(600)));
    let alphabet = [
        '0', '1', '9', '.', '_', ':', 'e', 'E', '+', '-', 'x', 'o', 'b', ' ', '#', 'a', 'y', 'n',
        '~', '\'', '"', '\n', '\t',
    ];
    let mut current = vec![String::new()];
    for _ in 0..3 {
        let next: Vec<String> = current
            .iter()
            .flat_map(|prefix| alphabet.iter().map(move |ch| format!("{prefix}{ch}")))
            .collect();
        words.extend(next.iter().cloned());
        current = next;
    }
    let numeric = ['0', '1', '.', '_', ':', 'e', '+', '-'];
    for a in numeric {
        for b in numeric {
            for c in numeric {
                for d in numeric {
                    words.push([a, b, c, d].iter().collect());
                }
            }
        }
    }
    words
}

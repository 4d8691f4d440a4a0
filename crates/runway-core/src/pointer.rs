//! JSON pointer lookups without allocation. `serde_json::Value::pointer` allocates two
//! `String`s per token (to unescape `~1` and `~0`), and the render's checks look up a few
//! thousand pointers in every render: that was a sixth of a render's instructions.

use serde_json::Value;

/// [`Value::pointer`], allocating only for a token that holds an escape (`~`).
pub trait JsonPointer {
    /// The value at RFC 6901 pointer `pointer` (`/spec/template/spec`), if any.
    fn ptr(&self, pointer: &str) -> Option<&Value>;
}

impl JsonPointer for Value {
    fn ptr(&self, pointer: &str) -> Option<&Value> {
        if pointer.is_empty() {
            return Some(self);
        }
        let text = pointer.strip_prefix('/')?;
        let rest = text.as_bytes();
        let mut target = self;
        let mut start = 0;
        // One pass over the bytes per token: find its end and whether it holds an escape
        // (pointers are short, so a plain loop beats `split` and `contains`' searchers).
        loop {
            let mut end = start;
            let mut escaped = false;
            while end < rest.len() && rest[end] != b'/' {
                escaped |= rest[end] == b'~';
                end += 1;
            }
            // Invariant: `start` and `end` sit at the string's ends or next to an ASCII `/`,
            // so both are char boundaries of the original `&str`.
            let raw = text.get(start..end)?;
            let unescaped;
            let token = if escaped {
                unescaped = raw.replace("~1", "/").replace("~0", "~");
                unescaped.as_str()
            } else {
                raw
            };
            target = match target {
                Value::Object(map) => map.get(token)?,
                Value::Array(list) => list.get(index(token)?)?,
                _ => return None,
            };
            if end == rest.len() {
                break;
            }
            start = end + 1;
        }
        Some(target)
    }
}

/// An array index as RFC 6901 writes it: digits, no leading zero (but `0` itself).
fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() > 1) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::JsonPointer;
    use serde_json::json;

    #[test]
    fn agrees_with_serde_json_on_every_kind_of_pointer() {
        let v = json!({"a": {"b/c": [1, {"d~e": 2}], "": 3}, "01": 4});
        for p in [
            "",
            "/a",
            "/a/b~1c",
            "/a/b~1c/0",
            "/a/b~1c/1/d~0e",
            "/a/",
            "/01",
            "/a/b~1c/01",
            "/a/b~1c/+1",
            "/x",
            "a",
            "/a/b~1c/9",
        ] {
            assert_eq!(v.ptr(p), v.pointer(p), "{p}");
        }
    }
}

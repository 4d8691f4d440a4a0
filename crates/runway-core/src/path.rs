//! Key paths such as `elasticsearch.sts.spec.template.spec.containers[0].image`.
//!
//! The same syntax is read from `--set`, `explain` and written in every error message:
//! segments are separated by `.`, a literal dot inside a key is written `\.`
//! (`metadata.annotations.prometheus\.io/scrape`), and `[N]` indexes a list.

use std::fmt;

/// One step of a [`KeyPath`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// A mapping key.
    Key(String),
    /// A list index.
    Index(usize),
}

/// A path from the root of a layer (or of an object) to a value.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyPath(pub Vec<Segment>);

/// Why a path did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path is empty or has an empty segment (`a..b`, a leading or trailing dot).
    #[error("empty key in path `{0}`")]
    EmptySegment(String),
    /// `[` without a closing `]` or a non-numeric index.
    #[error("bad list index in path `{0}`: write `[N]` with N a number")]
    BadIndex(String),
}

impl KeyPath {
    /// The empty path (the root).
    pub fn root() -> Self {
        KeyPath(Vec::new())
    }

    /// This path with a key appended.
    pub fn key(&self, k: &str) -> Self {
        let mut v = self.0.clone();
        v.push(Segment::Key(k.to_string()));
        KeyPath(v)
    }

    /// This path with an index appended.
    pub fn index(&self, i: usize) -> Self {
        let mut v = self.0.clone();
        v.push(Segment::Index(i));
        KeyPath(v)
    }

    /// The segments.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// True for the root path.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses `a.b\.c[2].d`.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let mut segs = Vec::new();
        let mut cur = String::new();
        let mut cur_started = false;
        let mut chars = text.chars().peekable();
        // `after_index` is true right after `]`: the next char must be `.`, `[` or the end.
        let mut after_index = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&'.') => {
                    chars.next();
                    cur.push('.');
                    cur_started = true;
                }
                '.' => {
                    if after_index {
                        after_index = false;
                        continue;
                    }
                    if cur.is_empty() {
                        return Err(PathError::EmptySegment(text.to_string()));
                    }
                    segs.push(Segment::Key(std::mem::take(&mut cur)));
                    cur_started = false;
                }
                '[' => {
                    if !cur.is_empty() {
                        segs.push(Segment::Key(std::mem::take(&mut cur)));
                    } else if !after_index && segs.is_empty() {
                        return Err(PathError::EmptySegment(text.to_string()));
                    }
                    let mut num = String::new();
                    let mut closed = false;
                    for d in chars.by_ref() {
                        if d == ']' {
                            closed = true;
                            break;
                        }
                        num.push(d);
                    }
                    let idx = num.parse::<usize>().map_err(|_| PathError::BadIndex(text.to_string()))?;
                    if !closed {
                        return Err(PathError::BadIndex(text.to_string()));
                    }
                    segs.push(Segment::Index(idx));
                    after_index = true;
                    cur_started = false;
                }
                _ => {
                    if after_index {
                        return Err(PathError::BadIndex(text.to_string()));
                    }
                    cur.push(c);
                    cur_started = true;
                }
            }
        }
        if cur_started || !cur.is_empty() {
            segs.push(Segment::Key(cur));
        } else if !after_index {
            return Err(PathError::EmptySegment(text.to_string()));
        }
        Ok(KeyPath(segs))
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Segment::Key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(&k.replace('.', "\\."))?;
                }
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(p: &KeyPath) -> Vec<String> {
        p.0.iter()
            .map(|s| match s {
                Segment::Key(k) => k.clone(),
                Segment::Index(i) => format!("#{i}"),
            })
            .collect()
    }

    #[test]
    fn dotted_path_splits_on_dots() {
        assert_eq!(keys(&KeyPath::parse("a.b.c").unwrap()), ["a", "b", "c"]);
    }

    #[test]
    fn escaped_dot_stays_in_key() {
        let p = KeyPath::parse(r"metadata.annotations.prometheus\.io/scrape").unwrap();
        assert_eq!(keys(&p), ["metadata", "annotations", "prometheus.io/scrape"]);
        assert_eq!(p.to_string(), r"metadata.annotations.prometheus\.io/scrape");
    }

    #[test]
    fn indices_follow_keys() {
        let p = KeyPath::parse("spec.containers[0].ports[1].name").unwrap();
        assert_eq!(keys(&p), ["spec", "containers", "#0", "ports", "#1", "name"]);
        assert_eq!(p.to_string(), "spec.containers[0].ports[1].name");
    }

    #[test]
    fn empty_segments_are_rejected() {
        for bad in ["", "a..b", ".a", "a."] {
            assert!(matches!(KeyPath::parse(bad), Err(PathError::EmptySegment(_))), "{bad}");
        }
    }

    #[test]
    fn bad_indices_are_rejected() {
        for bad in ["a[x]", "a[1", "a[1]b"] {
            assert!(matches!(KeyPath::parse(bad), Err(PathError::BadIndex(_))), "{bad}");
        }
    }
}

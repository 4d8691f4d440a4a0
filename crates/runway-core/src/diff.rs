//! Object-level semantic diff of two renders, and the immutable-field check that
//! `runway render --check-upgrade` shares with it.
//!
//! Rules:
//! - an object's identity is its API group (not version), kind, namespace and name, so a
//!   move from `v1beta1` to `v1` of the same group is a change, not a removal and an addition;
//! - values are compared, never text: key order, quoting and formatting never show;
//! - objects are listed in canonical apply order ([`crate::object::kind_rank`]), then by
//!   kind, namespace and name;
//! - each changed object lists the field paths that differ (lists compared item by item)
//!   and carries a unified diff of its YAML as [`crate::emit`] writes it;
//! - Secret `data` and `stringData` values are masked unless `show_secrets` is set, the way
//!   `kubectl diff` does: `***`, or `*** (before)` / `*** (after)` where a value changed;
//! - a removed and an added object of the same group and kind are one *rename* when they
//!   are the same object moved or re-hashed: the same name in another namespace, names that
//!   differ only by a hash suffix (`app-config-5f8b9c7d2k` → `app-config-9m2h6t4b8c`, as
//!   kustomize's `configMapGenerator` names them), or content at least
//!   [`RENAME_SIMILARITY`] alike (line ratio of their YAML, name and namespace left out).
//!   Each removed object pairs with at most one added object, best match first.

use crate::pointer::JsonPointer as _;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Value};

use crate::object::kind_rank;
use crate::path::KeyPath;

/// The identity of an object across two renders.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectId {
    /// The API group, empty for the core group (`apps`, `batch`, ``).
    pub group: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`, empty for cluster-scoped objects.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl ObjectId {
    /// The identity of a JSON object (missing fields read as empty).
    pub fn of(v: &Value) -> Self {
        let s = |p: &str| v.ptr(p).and_then(Value::as_str).unwrap_or("").to_string();
        let api_version = s("/apiVersion");
        let group = match api_version.split_once('/') {
            Some((g, _)) => g.to_string(),
            None => String::new(),
        };
        ObjectId { group, kind: s("/kind"), namespace: s("/metadata/namespace"), name: s("/metadata/name") }
    }

    /// The sort key of canonical apply order.
    fn order(&self) -> (usize, &str, &str, &str, &str) {
        (kind_rank(&self.kind), &self.kind, &self.namespace, &self.name, &self.group)
    }
}

impl fmt::Display for ObjectId {
    /// `Kind namespace/name`, or `Kind name` for a cluster-scoped object.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// What happened to an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// Only in the new render.
    Added,
    /// Only in the old render.
    Removed,
    /// In both, with different values.
    Changed,
    /// Removed under one identity and added under another ([`ObjectDiff::from`]).
    Renamed,
}

impl ChangeKind {
    /// `+`, `-` or `~`.
    pub fn sign(self) -> char {
        match self {
            ChangeKind::Added => '+',
            ChangeKind::Removed => '-',
            ChangeKind::Changed => '~',
            ChangeKind::Renamed => '>',
        }
    }

    /// `added`, `removed`, `changed` or `renamed`.
    pub fn word(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::Changed => "changed",
            ChangeKind::Renamed => "renamed",
        }
    }
}

/// One field that differs; `None` is an absent field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldChange {
    /// The path inside the object (`spec.replicas`).
    pub path: KeyPath,
    /// The old value.
    pub old: Option<Value>,
    /// The new value.
    pub new: Option<Value>,
}

/// A change to a field the API server will not update in place.
#[derive(Clone, Debug, PartialEq)]
pub struct ImmutableChange {
    /// The object.
    pub id: ObjectId,
    /// The field (`spec.volumeClaimTemplates`).
    pub path: KeyPath,
    /// The old value (`None`: absent).
    pub old: Option<Value>,
    /// The new value (`None`: absent).
    pub new: Option<Value>,
    /// One line saying how to roll the change out.
    pub hint: String,
}

impl fmt::Display for ImmutableChange {
    /// `StatefulSet ns/name: spec.selector is immutable`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} is immutable", self.id, self.path)
    }
}

/// One object that differs between the renders.
#[derive(Clone, Debug)]
pub struct ObjectDiff {
    /// The object (its new identity for a rename).
    pub id: ObjectId,
    /// Added, removed, changed or renamed.
    pub change: ChangeKind,
    /// The old identity of a renamed object; `None` otherwise.
    pub from: Option<ObjectId>,
    /// The fields that differ (empty for an added or removed object).
    pub fields: Vec<FieldChange>,
    /// The unified diff of the object's YAML (`--- a/...`, `+++ b/...`, hunks).
    pub unified: String,
    /// Changes to immutable fields.
    pub immutable: Vec<ImmutableChange>,
}

/// Options of [`diff`].
#[derive(Clone, Copy, Debug, Default)]
pub struct DiffOptions {
    /// Show Secret `data` and `stringData` values. Default: `false` (masked).
    pub show_secrets: bool,
}

/// The difference between two renders.
#[derive(Clone, Debug, Default)]
pub struct Diff {
    /// The objects that differ, in canonical apply order.
    pub objects: Vec<ObjectDiff>,
}

impl Diff {
    /// True when the renders hold the same objects with the same values.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// How many objects were added, changed and removed (renames are counted apart, by
    /// [`Diff::renamed`]).
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |k| self.objects.iter().filter(|o| o.change == k).count();
        (n(ChangeKind::Added), n(ChangeKind::Changed), n(ChangeKind::Removed))
    }

    /// How many objects were renamed.
    pub fn renamed(&self) -> usize {
        self.objects.iter().filter(|o| o.change == ChangeKind::Renamed).count()
    }

    /// `N added, N changed, N removed`, with `, N renamed` before `removed` when there are renames.
    fn summary(&self) -> String {
        let (a, c, r) = self.counts();
        match self.renamed() {
            0 => format!("{a} added, {c} changed, {r} removed"),
            n => format!("{a} added, {c} changed, {n} renamed, {r} removed"),
        }
    }

    /// All immutable-field changes.
    pub fn immutable(&self) -> impl Iterator<Item = &ImmutableChange> {
        self.objects.iter().flat_map(|o| o.immutable.iter())
    }

    /// Plain text: a summary line per object with its fields and immutable changes, then the
    /// unified diffs; ANSI colours with `colour`. Empty when nothing changed.
    pub fn to_text(&self, colour: bool) -> String {
        if self.is_empty() {
            return String::new();
        }
        let paint = |code: &str, s: &str| if colour { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() };
        let mut out = String::new();
        for o in &self.objects {
            let code = match o.change {
                ChangeKind::Added => "32",
                ChangeKind::Removed => "31",
                ChangeKind::Changed => "33",
                ChangeKind::Renamed => "36",
            };
            out.push_str(&paint(code, &format!("{} {}", o.change.sign(), o.title())));
            out.push('\n');
            for f in &o.fields {
                out.push_str(&format!("    {}: {} → {}\n", f.path, show(&f.old), show(&f.new)));
            }
            for c in &o.immutable {
                out.push_str(&paint("1;31", &format!("    ! immutable: {}: {}", c.path, c.hint)));
                out.push('\n');
            }
        }
        out.push_str(&self.summary());
        out.push('\n');
        for o in &self.objects {
            out.push('\n');
            for line in o.unified.lines() {
                let code = if line.starts_with("+++") || line.starts_with("---") {
                    "1"
                } else if line.starts_with('+') {
                    "32"
                } else if line.starts_with('-') {
                    "31"
                } else if line.starts_with("@@") {
                    "36"
                } else {
                    ""
                };
                if code.is_empty() {
                    out.push_str(line);
                } else {
                    out.push_str(&paint(code, line));
                }
                out.push('\n');
            }
        }
        out
    }

    /// A pull-request comment: a summary table, immutable changes, then one collapsible
    /// `<details>` block per object holding its unified diff.
    pub fn to_markdown(&self) -> String {
        if self.is_empty() {
            return "### runway diff\n\nNo changes.\n".to_string();
        }
        let mut out = format!("### runway diff: {}\n\n", self.summary());
        out.push_str("| | Kind | Namespace | Name | Fields |\n|---|---|---|---|---|\n");
        for o in &self.objects {
            let fields: Vec<String> = o.fields.iter().take(8).map(|f| format!("`{}`", f.path)).collect();
            let more = if o.fields.len() > 8 { format!(" and {} more", o.fields.len() - 8) } else { String::new() };
            let flag = if o.immutable.is_empty() { "" } else { " ⚠️" };
            let moved = |old: &str, new: &str| if old == new { new.to_string() } else { format!("{old} → {new}") };
            let (ns, name) = match &o.from {
                Some(f) => (moved(&f.namespace, &o.id.namespace), moved(&f.name, &o.id.name)),
                None => (o.id.namespace.clone(), o.id.name.clone()),
            };
            out.push_str(&format!(
                "| {}{flag} | {} | {} | {} | {}{more} |\n",
                o.change.sign(),
                cell(&o.id.kind),
                cell(&ns),
                cell(&name),
                cell(&fields.join(", "))
            ));
        }
        let immutable: Vec<&ImmutableChange> = self.immutable().collect();
        if !immutable.is_empty() {
            out.push_str("\n**Immutable fields change** (a plain apply will fail):\n\n");
            for ch in immutable {
                out.push_str(&format!("- ! immutable: {}: `{}`: {}\n", cell(&ch.id.to_string()), ch.path, ch.hint));
            }
        }
        for o in &self.objects {
            let fence = if o.unified.contains("```") { "~~~~" } else { "```" };
            out.push_str(&format!(
                "\n<details><summary>{} {}</summary>\n\n{fence}diff\n{}{fence}\n\n</details>\n",
                o.change.sign(),
                html(&o.title()),
                o.unified
            ));
        }
        out
    }

    /// JSON for bots: counts and, per object, its identity, change, the old identity of a
    /// rename (`"from"`, else `null`), fields (old and new values, absent as `null` with
    /// `"oldPresent"`/`"newPresent"` flags), immutable changes and unified diff.
    pub fn to_json(&self) -> Value {
        let (a, c, r) = self.counts();
        let renamed = self.renamed();
        let objects: Vec<Value> = self
            .objects
            .iter()
            .map(|o| {
                json!({
                    "group": o.id.group,
                    "kind": o.id.kind,
                    "namespace": o.id.namespace,
                    "name": o.id.name,
                    "change": o.change.word(),
                    "from": o.from.as_ref().map(|f| json!({
                        "group": f.group,
                        "kind": f.kind,
                        "namespace": f.namespace,
                        "name": f.name,
                    })),
                    "fields": o.fields.iter().map(|f| json!({
                        "path": f.path.to_string(),
                        "old": f.old.clone().unwrap_or(Value::Null),
                        "new": f.new.clone().unwrap_or(Value::Null),
                        "oldPresent": f.old.is_some(),
                        "newPresent": f.new.is_some(),
                    })).collect::<Vec<_>>(),
                    "immutable": o.immutable.iter().map(|c| json!({
                        "path": c.path.to_string(),
                        "hint": c.hint,
                    })).collect::<Vec<_>>(),
                    "unified": o.unified,
                })
            })
            .collect();
        json!({ "added": a, "changed": c, "renamed": renamed, "removed": r, "objects": objects })
    }
}

impl ObjectDiff {
    /// `Kind namespace/name`, or for a rename `renamed: Kind old-ns/old → new-ns/new`.
    pub fn title(&self) -> String {
        match &self.from {
            Some(f) => {
                let new = if self.id.namespace.is_empty() {
                    self.id.name.clone()
                } else {
                    format!("{}/{}", self.id.namespace, self.id.name)
                };
                format!("renamed: {f} → {new}")
            }
            None => self.id.to_string(),
        }
    }
}

/// A value on one line: compact JSON, cut at 100 characters; `(absent)` for `None`.
fn show(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".to_string(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 100 {
                format!("{}…", s.chars().take(100).collect::<String>())
            } else {
                s
            }
        }
    }
}

/// Text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Text safe inside HTML.
fn html(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Indexes a render by identity; the first of duplicates wins.
fn index(objs: &[Value]) -> BTreeMap<ObjectId, &Value> {
    let mut m = BTreeMap::new();
    for o in objs {
        m.entry(ObjectId::of(o)).or_insert(o);
    }
    m
}

/// The pairs of a render: `(id, old, new)` for every identity in either, in apply order.
fn pairs<'a>(old: &'a [Value], new: &'a [Value]) -> Vec<(ObjectId, Option<&'a Value>, Option<&'a Value>)> {
    let (o, n) = (index(old), index(new));
    let mut ids: Vec<&ObjectId> = o.keys().chain(n.keys()).collect();
    ids.sort_by(|a, b| a.order().cmp(&b.order()));
    ids.dedup();
    ids.into_iter().map(|id| (id.clone(), o.get(id).copied(), n.get(id).copied())).collect()
}

/// Compares two renders (objects as JSON values).
pub fn diff(old: &[Value], new: &[Value], opts: DiffOptions) -> Diff {
    let all = pairs(old, new);
    let removed: Vec<(&ObjectId, &Value)> =
        all.iter().filter_map(|(id, o, n)| Some((id, (*o)?)).filter(|_| n.is_none())).collect();
    let added: Vec<(&ObjectId, &Value)> =
        all.iter().filter_map(|(id, o, n)| Some((id, (*n)?)).filter(|_| o.is_none())).collect();
    // Added identity → the removed object it renames.
    let mut renamed_from: BTreeMap<ObjectId, (ObjectId, &Value)> = BTreeMap::new();
    for (r, a) in renames(&removed, &added) {
        renamed_from.insert(added[a].0.clone(), (removed[r].0.clone(), removed[r].1));
    }
    let gone: Vec<&ObjectId> = renamed_from.values().map(|(id, _)| id).collect();
    let mut objects = Vec::new();
    for (id, o, n) in all.iter().cloned() {
        if o.is_some() && n.is_none() && gone.contains(&&id) {
            continue;
        }
        let from = renamed_from.get(&id).map(|(f, v)| (f.clone(), *v));
        let (o, n) = match (o, n, &from) {
            (None, Some(n), Some((_, old))) => (Some((*old).clone()), Some(n.clone())),
            (Some(o), Some(n), _) if o == n => continue,
            (o, n, _) => (o.cloned(), n.cloned()),
        };
        let from = from.map(|(f, _)| f);
        let (o, n) =
            if id.kind == "Secret" && id.group.is_empty() && !opts.show_secrets { redact(o, n) } else { (o, n) };
        let change = match (&o, &n) {
            _ if from.is_some() => ChangeKind::Renamed,
            (None, Some(_)) => ChangeKind::Added,
            (Some(_), None) => ChangeKind::Removed,
            _ => ChangeKind::Changed,
        };
        let mut fields = Vec::new();
        if let (Some(o), Some(n)) = (&o, &n) {
            compare(o, n, KeyPath::root(), &mut fields);
        }
        // A renamed object is a new object to the API server: nothing is updated in place.
        let immutable = match (&o, &n) {
            (Some(o), Some(n)) if from.is_none() => immutable_rules(&id, o, n),
            _ => Vec::new(),
        };
        let yaml = |v: &Option<Value>| v.as_ref().map(|v| crate::emit::to_yaml_stream([v])).unwrap_or_default();
        let (oy, ny) = (yaml(&o), yaml(&n));
        let unified = similar::TextDiff::from_lines(&oy, &ny)
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{}", from.as_ref().unwrap_or(&id)), &format!("b/{id}"))
            .to_string();
        objects.push(ObjectDiff { id, change, from, fields, unified, immutable });
    }
    Diff { objects }
}

/// How alike two objects' contents must be (line ratio of their YAML without name and
/// namespace, 0 to 1) for a removal and an addition to be shown as one rename.
pub const RENAME_SIMILARITY: f32 = 0.8;

/// Above this many removed × added pairs of one kind, contents are not compared (names
/// still are): the comparison is quadratic and such a diff is a rewrite, not a rename.
const MAX_CONTENT_COMPARISONS: usize = 2500;

/// Pairs removed and added objects that are one object renamed, as `(removed, added)`
/// indices: same group and kind, then best score first (same name in another namespace,
/// then names equal but for a hash suffix, then content similarity), ties in apply order.
fn renames(removed: &[(&ObjectId, &Value)], added: &[(&ObjectId, &Value)]) -> Vec<(usize, usize)> {
    let compare_content = removed.len() * added.len() <= MAX_CONTENT_COMPARISONS;
    let body = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("name");
            m.remove("namespace");
        }
        crate::emit::to_yaml_stream([&v])
    };
    let old_bodies: Vec<Option<String>> = removed.iter().map(|(_, v)| compare_content.then(|| body(v))).collect();
    let new_bodies: Vec<Option<String>> = added.iter().map(|(_, v)| compare_content.then(|| body(v))).collect();
    let mut candidates: Vec<(f32, usize, usize)> = Vec::new();
    for (ri, (r, _)) in removed.iter().enumerate() {
        for (ai, (a, _)) in added.iter().enumerate() {
            if r.group != a.group || r.kind != a.kind {
                continue;
            }
            let score = if r.name == a.name {
                3.0
            } else if hash_base(&r.name).is_some_and(|b| Some(b) == hash_base(&a.name)) {
                2.0
            } else if let (Some(o), Some(n)) = (&old_bodies[ri], &new_bodies[ai]) {
                // The ratio is at most 2·min/(sum) of the line counts: skip the diff when
                // that bound is already below the threshold.
                let (lo, ln) = (o.lines().count() as f32, n.lines().count() as f32);
                if 2.0 * lo.min(ln) / (lo + ln).max(1.0) < RENAME_SIMILARITY {
                    0.0
                } else {
                    similar::TextDiff::from_lines(o.as_str(), n.as_str()).ratio()
                }
            } else {
                0.0
            };
            if score >= RENAME_SIMILARITY {
                candidates.push((score, ri, ai));
            }
        }
    }
    // Best first; ties in apply order of the removed, then the added object.
    candidates.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let (mut used_r, mut used_a) = (vec![false; removed.len()], vec![false; added.len()]);
    let mut out = Vec::new();
    for (_, r, a) in candidates {
        if !used_r[r] && !used_a[a] {
            used_r[r] = true;
            used_a[a] = true;
            out.push((r, a));
        }
    }
    out
}

/// The name without its hash suffix, when it has one: the part after the last `-` is 5 or
/// more lowercase letters and digits with at least one digit (`app-config-5f8b9c7d2k`,
/// `grafana-dashboards-7b6c9`).
fn hash_base(name: &str) -> Option<(&str, usize)> {
    let (base, suffix) = name.rsplit_once('-')?;
    let hashy = suffix.len() >= 5
        && suffix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && suffix.bytes().any(|b| b.is_ascii_digit());
    (hashy && !base.is_empty()).then_some((base, suffix.len()))
}

/// The paths where `old` and `new` differ, mappings key by key and lists item by item.
fn compare(old: &Value, new: &Value, at: KeyPath, out: &mut Vec<FieldChange>) {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut keys: Vec<&String> = o.keys().chain(n.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                match (o.get(k), n.get(k)) {
                    (Some(a), Some(b)) => compare(a, b, at.key(k), out),
                    (a, b) => out.push(FieldChange { path: at.key(k), old: a.cloned(), new: b.cloned() }),
                }
            }
        }
        (Value::Array(o), Value::Array(n)) => {
            for i in 0..o.len().max(n.len()) {
                match (o.get(i), n.get(i)) {
                    (Some(a), Some(b)) => compare(a, b, at.index(i), out),
                    (a, b) => out.push(FieldChange { path: at.index(i), old: a.cloned(), new: b.cloned() }),
                }
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(FieldChange { path: at, old: Some(a.clone()), new: Some(b.clone()) }),
    }
}

/// Masks the values of a Secret's `data` and `stringData` as `kubectl diff` does.
fn redact(old: Option<Value>, new: Option<Value>) -> (Option<Value>, Option<Value>) {
    let (mut old, mut new) = (old, new);
    for field in ["data", "stringData"] {
        let o = old.as_ref().and_then(|v| v.get(field)).and_then(Value::as_object).cloned().unwrap_or_default();
        let n = new.as_ref().and_then(|v| v.get(field)).and_then(Value::as_object).cloned().unwrap_or_default();
        let mask = |v: &mut Option<Value>,
                    mine: &serde_json::Map<String, Value>,
                    other: &serde_json::Map<String, Value>,
                    tag: &str| {
            if let Some(Value::Object(map)) = v.as_mut().and_then(|v| v.get_mut(field)) {
                for (k, val) in map.iter_mut() {
                    let changed = other.get(k).is_some_and(|x| Some(x) != mine.get(k));
                    *val = Value::String(if changed { format!("*** ({tag})") } else { "***".to_string() });
                }
            }
        };
        mask(&mut old, &o, &n, "before");
        mask(&mut new, &n, &o, "after");
    }
    (old, new)
}

/// The changes to immutable fields between two renders, for objects in both, in apply order.
pub fn immutable_changes(old: &[Value], new: &[Value]) -> Vec<ImmutableChange> {
    pairs(old, new).into_iter().filter_map(|(id, o, n)| Some(immutable_rules(&id, o?, n?))).flatten().collect()
}

const STS_HINT: &str = "delete the StatefulSet with `kubectl delete sts NAME --cascade=orphan`, then apply: \
    the pods are replaced one by one and keep their PVCs";

/// The immutable-field rules for one object present in both renders.
fn immutable_rules(id: &ObjectId, old: &Value, new: &Value) -> Vec<ImmutableChange> {
    let ns = if id.namespace.is_empty() { String::new() } else { format!(" -n {}", id.namespace) };
    let name = &id.name;
    let mut out = Vec::new();
    let mut check = |path: &[&str], hint: String, when: fn(Option<&Value>, Option<&Value>) -> bool| {
        let (o, n) = (field(old, path), field(new, path));
        if o != n && when(o, n) {
            let kp = path.iter().fold(KeyPath::root(), |p, k| p.key(k));
            out.push(ImmutableChange { id: id.clone(), path: kp, old: o.cloned(), new: n.cloned(), hint });
        }
    };
    let always: fn(Option<&Value>, Option<&Value>) -> bool = |_, _| true;
    match (id.group.as_str(), id.kind.as_str()) {
        ("apps", "StatefulSet") => {
            let hint = STS_HINT.replace("NAME", &format!("{name}{ns}"));
            for f in ["selector", "serviceName", "volumeClaimTemplates", "podManagementPolicy"] {
                check(&["spec", f], hint.clone(), always);
            }
        }
        ("apps", kind @ ("Deployment" | "DaemonSet")) => {
            let short = if kind == "Deployment" { "deploy" } else { "ds" };
            let hint = format!(
                "delete the {kind} with `kubectl delete {short} {name}{ns}`, then apply: its pods are \
                 recreated (a short outage unless a copy under a new name runs beside it)"
            );
            check(&["spec", "selector"], hint, always);
        }
        ("batch", "Job") => {
            let hint = format!("delete the Job with `kubectl delete job {name}{ns}`, then apply: the Job runs again");
            check(&["spec", "template"], hint, always);
        }
        ("", "Service") => {
            let hint = format!(
                "delete the Service with `kubectl delete svc {name}{ns}`, then apply: it gets a new \
                 cluster IP; clients that resolve it by DNS follow"
            );
            check(&["spec", "clusterIP"], hint.clone(), |o, n| nonempty(o) && n.is_some());
            check(&["spec", "type"], hint, |o, n| {
                let ext = |v: Option<&Value>| v.and_then(Value::as_str) == Some("ExternalName");
                ext(o) != ext(n)
            });
        }
        ("", "PersistentVolumeClaim") => {
            let hint = format!(
                "create a claim under a new name and copy the data into it (or delete the claim with \
                 `kubectl delete pvc {name}{ns}` and lose its data), then point the workload at it"
            );
            check(&["spec", "storageClassName"], hint.clone(), |o, _| nonempty(o));
            check(&["spec", "volumeName"], hint, |o, _| nonempty(o));
        }
        _ => {}
    }
    out
}

/// The value at `path`, `null` read as absent.
fn field<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k)).filter(|v| !v.is_null())
}

/// Set to something other than the empty string.
fn nonempty(v: Option<&Value>) -> bool {
    v.is_some_and(|v| v.as_str() != Some(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(api: &str, kind: &str, name: &str, spec: Value) -> Value {
        json!({"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": "ns"}, "spec": spec})
    }

    /// The immutable changes from `spec` to `spec2` of one object.
    fn imm(api: &str, kind: &str, spec: Value, spec2: Value) -> Vec<ImmutableChange> {
        immutable_changes(&[obj(api, kind, "x", spec)], &[obj(api, kind, "x", spec2)])
    }

    fn paths(c: &[ImmutableChange]) -> Vec<String> {
        c.iter().map(|c| c.path.to_string()).collect()
    }

    #[test]
    fn statefulset_selector_is_immutable() {
        let c = imm(
            "apps/v1",
            "StatefulSet",
            json!({"selector": {"matchLabels": {"a": "1"}}, "replicas": 1}),
            json!({"selector": {"matchLabels": {"a": "2"}}, "replicas": 2}),
        );
        assert_eq!(paths(&c), ["spec.selector"]);
        assert!(c[0].hint.contains("kubectl delete sts x -n ns --cascade=orphan"), "{}", c[0].hint);
    }

    #[test]
    fn statefulset_service_name_is_immutable() {
        let c = imm("apps/v1", "StatefulSet", json!({"serviceName": "a"}), json!({"serviceName": "b"}));
        assert_eq!(paths(&c), ["spec.serviceName"]);
    }

    #[test]
    fn statefulset_volume_claim_templates_are_immutable() {
        let t = |s: &str| json!({"volumeClaimTemplates": [{"spec": {"resources": {"requests": {"storage": s}}}}]});
        let c = imm("apps/v1", "StatefulSet", t("100Gi"), t("200Gi"));
        assert_eq!(paths(&c), ["spec.volumeClaimTemplates"]);
        assert!(c[0].hint.contains("keep their PVCs"));
    }

    #[test]
    fn statefulset_pod_management_policy_is_immutable() {
        let c = imm(
            "apps/v1",
            "StatefulSet",
            json!({"podManagementPolicy": "OrderedReady"}),
            json!({"podManagementPolicy": "Parallel"}),
        );
        assert_eq!(paths(&c), ["spec.podManagementPolicy"]);
    }

    #[test]
    fn deployment_selector_is_immutable() {
        let c = imm("apps/v1", "Deployment", json!({"selector": {"matchLabels": {"a": "1"}}}), json!({"selector": {}}));
        assert_eq!(paths(&c), ["spec.selector"]);
        assert!(c[0].hint.contains("kubectl delete deploy x -n ns"));
    }

    #[test]
    fn daemonset_selector_is_immutable() {
        let c = imm("apps/v1", "DaemonSet", json!({"selector": {"matchLabels": {"a": "1"}}}), json!({}));
        assert_eq!(paths(&c), ["spec.selector"]);
        assert!(c[0].hint.contains("kubectl delete ds x -n ns"));
    }

    #[test]
    fn job_template_is_immutable() {
        let c =
            imm("batch/v1", "Job", json!({"template": {"spec": {"x": 1}}}), json!({"template": {"spec": {"x": 2}}}));
        assert_eq!(paths(&c), ["spec.template"]);
        assert!(c[0].hint.contains("kubectl delete job x -n ns"));
    }

    #[test]
    fn service_cluster_ip_is_immutable_once_set() {
        let c = imm("v1", "Service", json!({"clusterIP": "10.0.0.1"}), json!({"clusterIP": "10.0.0.2"}));
        assert_eq!(paths(&c), ["spec.clusterIP"]);
        // Setting it where it was empty or unset, or leaving it unset, is allowed.
        assert!(imm("v1", "Service", json!({"clusterIP": ""}), json!({"clusterIP": "10.0.0.2"})).is_empty());
        assert!(imm("v1", "Service", json!({}), json!({"clusterIP": "None"})).is_empty());
        assert!(imm("v1", "Service", json!({"clusterIP": "None"}), json!({})).is_empty());
    }

    #[test]
    fn service_type_to_or_from_external_name_is_immutable() {
        let c = imm("v1", "Service", json!({"type": "ClusterIP"}), json!({"type": "ExternalName"}));
        assert_eq!(paths(&c), ["spec.type"]);
        assert_eq!(paths(&imm("v1", "Service", json!({"type": "ExternalName"}), json!({}))), ["spec.type"]);
        assert!(imm("v1", "Service", json!({"type": "ClusterIP"}), json!({"type": "LoadBalancer"})).is_empty());
    }

    #[test]
    fn pvc_storage_class_name_is_immutable() {
        let c = imm(
            "v1",
            "PersistentVolumeClaim",
            json!({"storageClassName": "standard"}),
            json!({"storageClassName": "ssd"}),
        );
        assert_eq!(paths(&c), ["spec.storageClassName"]);
        assert!(c[0].hint.contains("kubectl delete pvc x -n ns"));
    }

    #[test]
    fn pvc_volume_name_is_immutable() {
        let c = imm("v1", "PersistentVolumeClaim", json!({"volumeName": "pv-1"}), json!({"volumeName": "pv-2"}));
        assert_eq!(paths(&c), ["spec.volumeName"]);
    }

    #[test]
    fn mutable_changes_and_other_groups_are_not_flagged() {
        assert!(imm("apps/v1", "StatefulSet", json!({"replicas": 1}), json!({"replicas": 3})).is_empty());
        assert!(
            imm("example.com/v1", "StatefulSet", json!({"serviceName": "a"}), json!({"serviceName": "b"})).is_empty()
        );
    }

    #[test]
    fn key_order_never_shows() {
        let a: Value = serde_json::from_str(
            r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"a"},"data":{"x":"1","y":"2"}}"#,
        )
        .unwrap();
        let b: Value = serde_json::from_str(
            r#"{"data":{"y":"2","x":"1"},"metadata":{"name":"a"},"apiVersion":"v1","kind":"ConfigMap"}"#,
        )
        .unwrap();
        assert!(diff(&[a], &[b], DiffOptions::default()).is_empty());
    }

    #[test]
    fn changes_list_field_paths_in_apply_order() {
        let old = vec![
            obj("apps/v1", "StatefulSet", "es", json!({"replicas": 3})),
            obj("v1", "ConfigMap", "gone", json!({})),
        ];
        let new = vec![
            obj("apps/v1", "StatefulSet", "es", json!({"replicas": 6})),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "new"}}),
        ];
        let d = diff(&old, &new, DiffOptions::default());
        let got: Vec<String> = d.objects.iter().map(|o| format!("{} {}", o.change.sign(), o.id)).collect();
        assert_eq!(got, ["+ Namespace new", "- ConfigMap ns/gone", "~ StatefulSet ns/es"]);
        let f = &d.objects[2].fields;
        assert_eq!(
            f,
            &[FieldChange { path: KeyPath::parse("spec.replicas").unwrap(), old: Some(json!(3)), new: Some(json!(6)) }]
        );
        assert!(d.objects[2].unified.contains("-  replicas: 3\n+  replicas: 6\n"), "{}", d.objects[2].unified);
    }

    #[test]
    fn api_version_moves_within_a_group_are_changes() {
        let d = diff(
            &[obj("policy/v1beta1", "PodDisruptionBudget", "a", json!({}))],
            &[obj("policy/v1", "PodDisruptionBudget", "a", json!({}))],
            DiffOptions::default(),
        );
        assert_eq!(d.counts(), (0, 1, 0));
    }

    #[test]
    fn secret_values_are_masked_unless_asked() {
        let s = |v: &str| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"pw": v, "same": "c2FtZQ=="}});
        let d = diff(&[s("b2xk")], &[s("bmV3")], DiffOptions::default());
        let text = d.to_text(false);
        assert!(!text.contains("b2xk") && !text.contains("bmV3") && !text.contains("c2FtZQ=="), "{text}");
        assert!(text.contains("*** (before)") && text.contains("*** (after)"), "{text}");
        let shown = diff(&[s("b2xk")], &[s("bmV3")], DiffOptions { show_secrets: true }).to_text(false);
        assert!(shown.contains("b2xk") && shown.contains("bmV3"), "{shown}");
    }

    fn cm(ns: &str, name: &str, data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data})
    }

    #[test]
    fn a_hashed_config_map_is_a_rename_with_its_field_changes() {
        let d = diff(
            &[cm("a", "app-config-5f8b9c7d2k", json!({"x": "1"}))],
            &[cm("a", "app-config-9m2h6t4b8c", json!({"x": "2"}))],
            DiffOptions::default(),
        );
        assert_eq!(d.objects.len(), 1, "{}", d.to_text(false));
        let o = &d.objects[0];
        assert_eq!(o.change, ChangeKind::Renamed);
        assert_eq!(o.from.as_ref().unwrap().name, "app-config-5f8b9c7d2k");
        let paths: Vec<String> = o.fields.iter().map(|f| f.path.to_string()).collect();
        assert_eq!(paths, ["data.x", "metadata.name"]);
        let text = d.to_text(false);
        assert!(text.starts_with("> renamed: ConfigMap a/app-config-5f8b9c7d2k → a/app-config-9m2h6t4b8c\n"), "{text}");
        assert!(text.contains("0 added, 0 changed, 1 renamed, 0 removed"), "{text}");
        assert!(
            text.contains("--- a/ConfigMap a/app-config-5f8b9c7d2k\n+++ b/ConfigMap a/app-config-9m2h6t4b8c"),
            "{text}"
        );
        let md = d.to_markdown();
        assert!(
            md.contains(
                "| > | ConfigMap | a | app-config-5f8b9c7d2k → app-config-9m2h6t4b8c | `data.x`, `metadata.name` |"
            ),
            "{md}"
        );
        assert!(
            md.contains("<summary>> renamed: ConfigMap a/app-config-5f8b9c7d2k → a/app-config-9m2h6t4b8c</summary>"),
            "{md}"
        );
        let j = d.to_json();
        assert_eq!(j["renamed"], 1);
        assert_eq!(j["objects"][0]["change"], "renamed");
        assert_eq!(j["objects"][0]["from"]["name"], "app-config-5f8b9c7d2k");
    }

    #[test]
    fn a_namespace_move_is_a_rename() {
        let d =
            diff(&[cm("old", "c", json!({"x": "1"}))], &[cm("new", "c", json!({"x": "1"}))], DiffOptions::default());
        assert_eq!(d.objects.len(), 1);
        assert_eq!(d.objects[0].title(), "renamed: ConfigMap old/c → new/c");
        assert_eq!(d.objects[0].fields[0].path.to_string(), "metadata.namespace");
        assert!(d.to_markdown().contains("| old → new | c |"), "{}", d.to_markdown());
    }

    #[test]
    fn similar_content_under_a_new_name_is_a_rename() {
        let data = json!({"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "h": "8"});
        let mut changed = data.clone();
        changed["h"] = json!("9");
        let d = diff(&[cm("a", "logging", data)], &[cm("a", "log-shipping", changed)], DiffOptions::default());
        assert_eq!(d.objects.len(), 1, "{}", d.to_text(false));
        assert_eq!(d.objects[0].change, ChangeKind::Renamed);
    }

    #[test]
    fn unrelated_objects_stay_a_removal_and_an_addition() {
        let d = diff(
            &[cm("a", "one", json!({"a": "1", "b": "2", "c": "3"}))],
            &[cm("a", "two", json!({"x": "alpha", "y": "beta", "z": "gamma"}))],
            DiffOptions::default(),
        );
        let changes: Vec<ChangeKind> = d.objects.iter().map(|o| o.change).collect();
        assert_eq!(changes, [ChangeKind::Removed, ChangeKind::Added]);
        // Different kinds never pair, whatever their content.
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c", "namespace": "a"}, "data": {"x": "1"}});
        let d = diff(&[cm("a", "c", json!({"x": "1"}))], &[secret], DiffOptions::default());
        assert_eq!(d.counts(), (1, 0, 1));
    }

    #[test]
    fn hash_suffixes_are_recognised() {
        assert_eq!(hash_base("app-config-5f8b9c7d2k"), Some(("app-config", 10)));
        assert_eq!(hash_base("grafana-dashboards-7b6c9"), Some(("grafana-dashboards", 5)));
        assert_eq!(hash_base("elasticsearch-logging"), None);
        assert_eq!(hash_base("node-exporter"), None);
        assert_eq!(hash_base("abc12"), None);
    }
}

//! Fleets: many clusters rendered in one run, in parallel, into one directory per cluster.
//!
//! A fleet file lists clusters and the groups (environments, regions, ...) they join:
//!
//! ```yaml
//! groups:
//!   prod:    {layers: [env/prod.yaml], set: ["elasticsearch.replicas=5"]}
//!   eu-west: {layers: [regions/eu-west.yaml]}
//! clusters:
//!   - name: prod-eu-gke
//!     stack: ../gke/stack.yaml
//!     groups: [prod, eu-west]
//!     layers: [clusters/prod-eu-gke.yaml]
//!     set: ["config.dns_zone=eu.example.com"]
//! ```
//!
//! Paths are relative to the fleet file. A cluster's layers, lowest precedence first:
//! component defaults; its platform base (`platform:` or `platform_file:`, else the stack
//! file's `platform:`); its stack file and the stack's `overrides:`; then each group in the
//! order the cluster lists them, each group's `layers` in order then its `set` and
//! `set_string` flags; then the cluster's own `layers`, `set` and `set_string`. So a group
//! is a shared override under the cluster's own, and a later group beats an earlier one.
//!
//! Every file is read and parsed once, however many clusters use it ([`ParsedFile`]);
//! each cluster then renders on its own thread (rayon). Output bytes depend only on the
//! inputs, never on the thread count. [`Fleet::render_to`] writes all clusters or none:
//! the whole output directory is staged beside the target and renamed into place only
//! when every cluster rendered, so a failure leaves the previous tree untouched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use runway_core::layer::parse_layer;
use runway_core::params::check_unknown_keys;
use runway_core::suggest::best_match;
use runway_core::{Error, ErrorKind, KeyPath, Node, SourceKind, SourceMap, Span};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::files::{self, lexical_join, StagedTree};
use crate::output::GitOpsOptions;
use crate::stack::{ParsedFile, Stack};
use crate::{platforms, Rendered};

/// A fleet file: clusters, and the groups whose layers they share.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetFile {
    /// Groups of clusters (an environment, a region) by name, each with the layers and
    /// flags its clusters share. Default: none.
    #[serde(default)]
    pub groups: BTreeMap<String, GroupSpec>,
    /// The clusters, each rendered into its own directory. Required, at least one.
    pub clusters: Vec<ClusterSpec>,
}

/// Layers and flags shared by the clusters that join a group.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Override files, in order, relative to the fleet file. Default: none.
    #[serde(default)]
    pub layers: Vec<String>,
    /// `--set` flags (`path=value`, typed like YAML), in order. Default: none.
    #[serde(default)]
    pub set: Vec<String>,
    /// `--set-string` flags (the value stays a string), in order. Default: none.
    #[serde(default)]
    pub set_string: Vec<String>,
}

/// One cluster of a fleet.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// The cluster's name: a DNS label, the name of its output directory. Required.
    pub name: String,
    /// An embedded platform base (`gke`, `eks`, `aks`, `onprem`, `kind`). Default: the
    /// stack file's `platform:`.
    #[serde(default)]
    pub platform: Option<String>,
    /// A platform base file of your own, relative to the fleet file, instead of an
    /// embedded one. Default: none.
    #[serde(default)]
    pub platform_file: Option<String>,
    /// A stack file, relative to the fleet file (its `overrides:` relative to itself).
    /// Default: none.
    #[serde(default)]
    pub stack: Option<String>,
    /// The groups the cluster joins, in precedence order (a later group wins). Default: none.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The cluster's own override files, after its groups'. Default: none.
    #[serde(default)]
    pub layers: Vec<String>,
    /// The cluster's own `--set` flags, last of all but `set_string`. Default: none.
    #[serde(default)]
    pub set: Vec<String>,
    /// The cluster's own `--set-string` flags, last of all. Default: none.
    #[serde(default)]
    pub set_string: Vec<String>,
}

/// A fleet error: the error, the sources it points into, and the cluster it belongs to.
#[derive(Clone, Debug)]
pub struct FleetError {
    /// The cluster whose render failed; `None` for an error in the fleet's own inputs.
    pub cluster: Option<String>,
    /// The error.
    pub error: Error,
    /// The sources the error's position refers to.
    pub sources: SourceMap,
}

impl FleetError {
    fn new(cluster: Option<&str>, error: Error, sources: &SourceMap) -> Self {
        FleetError { cluster: cluster.map(str::to_string), error, sources: sources.clone() }
    }

    /// The full message: `error: cluster `NAME`: FILE:LINE:COL: ...` with the excerpt.
    pub fn render(&self) -> String {
        let text = self.error.render(&self.sources);
        match (&self.cluster, text.strip_prefix("error: ")) {
            (Some(c), Some(rest)) => format!("error: cluster `{c}`: {rest}"),
            _ => text,
        }
    }
}

/// A stack file of the fleet: its key in the file cache, platform and override files.
#[derive(Clone, Debug)]
struct StackInfo {
    platform: Option<String>,
    overrides: Vec<String>,
}

/// A fleet ready to render: the fleet file, and every file it names read and parsed once.
#[derive(Clone, Debug)]
pub struct Fleet {
    /// The fleet file.
    pub spec: FleetFile,
    /// The fleet file's tree (for positions) and its source map.
    node: Node,
    sources: SourceMap,
    /// The folder paths are relative to.
    dir: PathBuf,
    /// Layer, stack, override and platform files by their display path.
    files: BTreeMap<String, ParsedFile>,
    /// Stack files by display path.
    stacks: BTreeMap<String, StackInfo>,
    /// Embedded platform bases by name, parsed once.
    platforms: BTreeMap<String, ParsedFile>,
}

/// What a fleet render wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FleetSummary {
    /// Clusters rendered.
    pub clusters: usize,
    /// Objects written, over all clusters.
    pub objects: usize,
    /// Bytes written, over all clusters.
    pub bytes: usize,
}

/// How a fleet's clusters are written.
#[derive(Clone, Debug, Default)]
pub struct FleetOptions {
    /// One JSON file per object instead of YAML. Default: off.
    pub json: bool,
    /// Kustomization, Flux, ApplySet and Argo CD options, for every cluster.
    pub gitops: GitOpsOptions,
}

/// Reads a fleet file's text (no filesystem): the typed file, its tree and its sources.
/// Unknown keys get a did-you-mean; names must be DNS labels and unique; every group a
/// cluster joins must exist.
pub fn parse_fleet(name: &str, text: &str) -> Result<(FleetFile, Node, SourceMap), FleetError> {
    let mut sources = SourceMap::new();
    let id = sources.add(name, SourceKind::File, text);
    let fail = |e: Error, sources: &SourceMap| FleetError::new(None, e, sources);
    let node = parse_layer(id, text).map_err(|e| fail(e, &sources))?;
    let schema = runway_core::params::schema_of::<FleetFile>();
    check_unknown_keys(&node, &schema, &schema, &KeyPath::root(), "fleet").map_err(|e| {
        // The shared check's note points at `runway components`; a fleet file is not a component.
        let mut fresh = Error::new(ErrorKind::UnknownKey { what: "key of a fleet file".into() });
        if let Some(s) = e.span() {
            fresh = fresh.at(s);
        }
        if let Some(p) = e.path() {
            fresh = fresh.with_path(p.clone());
        }
        for h in e.helps() {
            fresh = fresh.help(h.clone());
        }
        fail(fresh.note("a fleet file has `groups` and `clusters` (README, \"Fleets\")"), &sources)
    })?;
    // Unknown keys are checked above; what is left is types, pointed at the value.
    let spec: FleetFile =
        runway_core::params::read_params(&node, &KeyPath::root(), "fleet").map_err(|e| fail(e, &sources))?;
    let at = |path: KeyPath| node.span_of(&path);
    if spec.clusters.is_empty() {
        return Err(fail(Error::invalid("a fleet needs at least one cluster").at(at(KeyPath::root())), &sources));
    }
    let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
    for (i, c) in spec.clusters.iter().enumerate() {
        let path = KeyPath::root().key("clusters").index(i);
        let name_path = path.key("name");
        if !runway_core::names::is_dns_label(&c.name) {
            let e = Error::invalid(format!("cluster name `{}` is not a DNS label", c.name))
                .at(at(name_path.clone()))
                .with_path(name_path)
                .help("use lowercase letters, digits and `-`, at most 63 characters: it names the output directory");
            return Err(fail(e, &sources));
        }
        if let Some(first) = seen.get(c.name.as_str()) {
            let e = Error::invalid(format!("cluster `{}` is defined twice", c.name))
                .at(at(name_path.clone()))
                .with_path(name_path)
                .note(format!("first defined at line {}", first.line));
            return Err(fail(e, &sources));
        }
        seen.insert(&c.name, at(name_path));
        if c.platform.is_some() && c.platform_file.is_some() {
            let p = path.key("platform_file");
            let e = Error::new(ErrorKind::Conflict("`platform` and `platform_file` are both set".into()))
                .at(at(p.clone()))
                .with_path(p)
                .help("a platform file replaces the embedded base: give one or the other");
            return Err(fail(e, &sources));
        }
        for (j, g) in c.groups.iter().enumerate() {
            if !spec.groups.contains_key(g) {
                let p = path.key("groups").index(j);
                let mut e =
                    Error::new(ErrorKind::UnknownKey { what: format!("group `{g}`") }).at(at(p.clone())).with_path(p);
                if let Some(m) = best_match(g, spec.groups.keys().map(String::as_str)) {
                    e = e.help(format!("did you mean `{m}`?"));
                }
                return Err(fail(e.note("groups are defined under `groups:` at the top of the fleet file"), &sources));
            }
        }
        for (key, list, string) in [("set", &c.set, false), ("set_string", &c.set_string, true)] {
            check_sets(list, string, &path.key(key), &node, &sources)?;
        }
    }
    for (g, spec_g) in &spec.groups {
        let path = KeyPath::root().key("groups").key(g);
        check_sets(&spec_g.set, false, &path.key("set"), &node, &sources)?;
        check_sets(&spec_g.set_string, true, &path.key("set_string"), &node, &sources)?;
    }
    Ok((spec, node, sources))
}

/// Checks the syntax of `--set` flags written in a fleet file, pointing at the fleet file.
fn check_sets(
    list: &[String],
    string: bool,
    path: &KeyPath,
    node: &Node,
    sources: &SourceMap,
) -> Result<(), FleetError> {
    for (i, s) in list.iter().enumerate() {
        if let Err(e) = Stack::new().set(s, string) {
            let p = path.index(i);
            let e = Error::new(e.kind().clone()).at(node.span_of(&p)).with_path(p);
            return Err(FleetError::new(None, e, sources));
        }
    }
    Ok(())
}

impl Fleet {
    /// Reads a fleet file and every file it names (each once).
    pub fn load(path: &Path) -> Result<Fleet, FleetError> {
        let empty = SourceMap::new();
        let text = files::read_file(path).map_err(|e| FleetError::new(None, e, &empty))?;
        let (spec, node, sources) = parse_fleet(&path.display().to_string(), &text)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut fleet = Fleet {
            spec,
            node,
            sources,
            dir,
            files: BTreeMap::new(),
            stacks: BTreeMap::new(),
            platforms: BTreeMap::new(),
        };
        let spec = fleet.spec.clone();
        for (g, group) in &spec.groups {
            for (i, l) in group.layers.iter().enumerate() {
                fleet.read(l, SourceKind::File, KeyPath::root().key("groups").key(g).key("layers").index(i))?;
            }
        }
        for (i, c) in spec.clusters.iter().enumerate() {
            let at = KeyPath::root().key("clusters").index(i);
            if let Some(p) = &c.platform_file {
                fleet.read(p, SourceKind::Platform, at.key("platform_file"))?;
            }
            if let Some(p) = &c.platform {
                fleet.embedded(p, at.key("platform"))?;
            }
            if let Some(s) = &c.stack {
                fleet.read_stack(s, at.key("stack"))?;
            }
            for (j, l) in c.layers.iter().enumerate() {
                fleet.read(l, SourceKind::File, at.key("layers").index(j))?;
            }
        }
        Ok(fleet)
    }

    /// The display path of `rel` (relative to the fleet file).
    fn key(&self, rel: &str) -> String {
        lexical_join(&self.dir, rel).display().to_string()
    }

    /// An error in the fleet file at `path`.
    fn fleet_error(&self, e: Error, path: KeyPath) -> FleetError {
        FleetError::new(None, e.at(self.node.span_of(&path)).with_path(path), &self.sources)
    }

    /// Reads and parses a file once; the error of a missing file points at the fleet file.
    fn read(&mut self, rel: &str, kind: SourceKind, at: KeyPath) -> Result<String, FleetError> {
        let key = self.key(rel);
        self.read_key(&key, kind).map_err(|e| match e {
            ReadError::Io(e) => self.fleet_error(e, at),
            ReadError::Parse(e) => e,
        })?;
        Ok(key)
    }

    fn read_key(&mut self, key: &str, kind: SourceKind) -> Result<(), ReadError> {
        if self.files.contains_key(key) {
            return Ok(());
        }
        let text = files::read_file(Path::new(key)).map_err(ReadError::Io)?;
        let parsed = ParsedFile::parse(key, kind, &text)
            .map_err(|(e, sources)| ReadError::Parse(FleetError::new(None, e, &sources)))?;
        self.files.insert(key.to_string(), parsed);
        Ok(())
    }

    /// Parses an embedded platform base once.
    fn embedded(&mut self, name: &str, at: KeyPath) -> Result<(), FleetError> {
        if self.platforms.contains_key(name) {
            return Ok(());
        }
        let Some((file, text)) = platforms::get(name) else {
            // `Stack::platform` words the error (with did-you-mean) as `--platform` would.
            let e = Stack::new()
                .platform(name, "the fleet file")
                .err()
                .unwrap_or_else(|| Error::new(ErrorKind::UnknownPlatform(name.to_string())));
            return Err(self.fleet_error(e, at));
        };
        let parsed = ParsedFile::parse(file, SourceKind::Platform, text)
            .map_err(|(e, sources)| FleetError::new(None, e, &sources))?;
        self.platforms.insert(name.to_string(), parsed);
        Ok(())
    }

    /// Reads a stack file once, with its platform and override files.
    fn read_stack(&mut self, rel: &str, at: KeyPath) -> Result<(), FleetError> {
        let key = self.read(rel, SourceKind::Stack, at.clone())?;
        if self.stacks.contains_key(&key) {
            return Ok(());
        }
        let mut probe = Stack::new();
        let sf = probe.parsed_stack_file(&self.files[&key]).map_err(|e| FleetError::new(None, e, &probe.sources))?;
        if let Some((p, span)) = &sf.platform {
            if platforms::get(p).is_none() {
                let e = Stack::new()
                    .platform(p, &key)
                    .err()
                    .unwrap_or_else(|| Error::new(ErrorKind::UnknownPlatform(p.clone())));
                return Err(FleetError::new(None, e.at(*span), &probe.sources));
            }
            self.embedded(p, at.clone())?;
        }
        let stack_dir = Path::new(&key).parent().map(Path::to_path_buf).unwrap_or_default();
        let mut overrides = Vec::new();
        for (rel, span) in &sf.overrides {
            let okey = lexical_join(&stack_dir, rel).display().to_string();
            self.read_key(&okey, SourceKind::StackOverride).map_err(|e| match e {
                ReadError::Io(e) => {
                    FleetError::new(None, e.at(*span).with_path(KeyPath::root().key("overrides")), &probe.sources)
                }
                ReadError::Parse(e) => e,
            })?;
            overrides.push(okey);
        }
        self.stacks.insert(key, StackInfo { platform: sf.platform.map(|(p, _)| p), overrides });
        Ok(())
    }

    /// The stack of cluster `i`, assembled from the parsed files in precedence order.
    pub fn stack(&self, i: usize) -> Result<Stack, FleetError> {
        let c = &self.spec.clusters[i];
        let mut st = Stack::new();
        let fail = |e: Error, st: &Stack| FleetError::new(Some(&c.name), e, &st.sources);
        let by = format!("the fleet file (cluster `{}`)", c.name);
        if let Some(p) = &c.platform_file {
            let key = self.key(p);
            st.parsed_platform(&key, None, &self.files[&key]).map(drop).map_err(|e| fail(e, &st))?;
        }
        if let Some(p) = &c.platform {
            st.parsed_platform(p, Some(&by), &self.platforms[p]).map(drop).map_err(|e| fail(e, &st))?;
        }
        if let Some(s) = &c.stack {
            let key = self.key(s);
            let info = &self.stacks[&key];
            let sf = st.parsed_stack_file(&self.files[&key]).map_err(|e| fail(e, &st))?;
            if let (Some(p), Some((_, span))) = (&info.platform, &sf.platform) {
                st.parsed_platform(p, Some(&key), &self.platforms[p]).map(drop).map_err(|e| fail(e.at(*span), &st))?;
            }
            for o in &info.overrides {
                st.parsed_layer(&self.files[o], SourceKind::StackOverride);
            }
        }
        let groups = c.groups.iter().map(|g| &self.spec.groups[g]);
        let own = GroupSpec { layers: c.layers.clone(), set: c.set.clone(), set_string: c.set_string.clone() };
        for g in groups.chain(std::iter::once(&own)) {
            for l in &g.layers {
                st.parsed_layer(&self.files[&self.key(l)], SourceKind::File);
            }
            for s in &g.set {
                st.set(s, false).map(drop).map_err(|e| fail(e, &st))?;
            }
            for s in &g.set_string {
                st.set(s, true).map(drop).map_err(|e| fail(e, &st))?;
            }
        }
        if !st.has_platform() {
            let path = KeyPath::root().key("clusters").index(i);
            let e = Error::new(ErrorKind::Conflict(format!("cluster `{}` has no platform", c.name)))
                .help("give it `platform:`, `platform_file:` or a `stack:` whose file says `platform:`");
            let mut e = self.fleet_error(e, path);
            e.cluster = Some(c.name.clone());
            return Err(e);
        }
        Ok(st)
    }

    /// Renders cluster `i` (all components), with the GitOps options applied.
    pub fn render_cluster(&self, i: usize, gitops: &GitOpsOptions) -> Result<Rendered, FleetError> {
        let c = &self.spec.clusters[i];
        let st = self.stack(i)?;
        let mut out = st.render(crate::ALL).map_err(|e| {
            let (error, sources) = e.into_parts();
            let error = error.note(format!(
                "cluster `{}` is defined at {}",
                c.name,
                self.node.span_of(&KeyPath::root().key("clusters").index(i)).display(&self.sources)
            ));
            FleetError { cluster: Some(c.name.clone()), error, sources }
        })?;
        out.apply_gitops(gitops);
        Ok(out)
    }

    /// The index of the cluster named `name`; the error suggests the closest name.
    pub fn cluster_index(&self, name: &str) -> Result<usize, FleetError> {
        self.spec.clusters.iter().position(|c| c.name == name).ok_or_else(|| {
            let mut e = Error::new(ErrorKind::UnknownKey { what: format!("cluster `{name}`") })
                .note(format!("the fleet has {} clusters", self.spec.clusters.len()));
            if let Some(m) = best_match(name, self.spec.clusters.iter().map(|c| c.name.as_str())) {
                e = e.help(format!("did you mean `{m}`?"));
            }
            FleetError::new(None, e, &self.sources)
        })
    }

    /// Renders every cluster in parallel and writes `dir/CLUSTER/...` (the layout of
    /// `render --output-dir`) for each. All or nothing: on any failure `dir` is left as it
    /// was and the errors come back in fleet order (deterministic whatever the threads).
    /// `progress` is called once per cluster rendered, from the rendering thread.
    pub fn render_to(
        &self,
        dir: &Path,
        opts: &FleetOptions,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<FleetSummary, Vec<FleetError>> {
        let staged = StagedTree::new(dir).map_err(|e| vec![FleetError::new(None, e, &SourceMap::new())])?;
        let failed = AtomicBool::new(false);
        let memo = crate::output::TextMemo::new();
        let results: Vec<Result<(usize, usize), FleetError>> = (0..self.spec.clusters.len())
            .into_par_iter()
            .map(|i| {
                let name = &self.spec.clusters[i].name;
                let out = self.render_cluster(i, &opts.gitops);
                progress(name);
                let out = out.inspect_err(|_| failed.store(true, Ordering::Relaxed))?;
                // Once a cluster failed nothing will be committed: keep rendering (every
                // error is reported) but stop writing.
                if failed.load(Ordering::Relaxed) {
                    return Ok((out.objects.len(), 0));
                }
                let files = out.files_memo(opts.json, &opts.gitops, Some(&memo));
                let bytes = staged.write_many(name, &files).map_err(|e| {
                    failed.store(true, Ordering::Relaxed);
                    FleetError::new(Some(name), e, &SourceMap::new())
                })?;
                Ok((out.objects.len(), bytes))
            })
            .collect();
        let mut summary = FleetSummary::default();
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok((objects, bytes)) => {
                    summary.clusters += 1;
                    summary.objects += objects;
                    summary.bytes += bytes;
                }
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        staged.commit().map_err(|e| vec![FleetError::new(None, e, &SourceMap::new())])?;
        Ok(summary)
    }
}

enum ReadError {
    Io(Error),
    Parse(FleetError),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// A fleet of `n` kind clusters in a temporary folder, sharing one group layer.
    fn kind_fleet(extra_cluster: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "env.yaml", "elasticsearch: {retention_days: 5}\n");
        write(d.path(), "own.yaml", "elasticsearch: {retention_days: 9}\n");
        write(
            d.path(),
            "fleet.yaml",
            &format!(
                "groups:\n  env: {{layers: [env.yaml]}}\nclusters:\n  - {{name: a, platform: kind, groups: [env], layers: [own.yaml]}}\n  - {{name: b, platform: kind, groups: [env]}}\n{extra_cluster}"
            ),
        );
        d
    }

    fn retention(fleet: &Fleet, i: usize) -> serde_json::Value {
        let out = fleet.render_cluster(i, &GitOpsOptions::default()).unwrap();
        out.params["elasticsearch"].get("retention_days").unwrap().to_json()
    }

    #[test]
    fn group_layers_apply_under_the_clusters_own() {
        let d = kind_fleet("");
        let fleet = Fleet::load(&d.path().join("fleet.yaml")).unwrap();
        assert_eq!(retention(&fleet, 0), serde_json::json!(9), "the cluster's own layer wins over its group's");
        assert_eq!(retention(&fleet, 1), serde_json::json!(5), "the group's layer applies");
    }

    #[test]
    fn later_groups_and_sets_win() {
        let d = kind_fleet("");
        write(d.path(), "late.yaml", "elasticsearch: {retention_days: 6}\n");
        write(
            d.path(),
            "fleet.yaml",
            "groups:\n  env: {layers: [env.yaml], set: [elasticsearch.retention_days=4]}\n  late: {layers: [late.yaml]}\nclusters:\n  - {name: a, platform: kind, groups: [env, late]}\n  - {name: b, platform: kind, groups: [late, env]}\n  - {name: c, platform: kind, groups: [env], set: [elasticsearch.retention_days=2]}\n",
        );
        let fleet = Fleet::load(&d.path().join("fleet.yaml")).unwrap();
        assert_eq!(retention(&fleet, 0), serde_json::json!(6));
        assert_eq!(retention(&fleet, 1), serde_json::json!(4), "a group's set comes after its layers");
        assert_eq!(retention(&fleet, 2), serde_json::json!(2), "the cluster's own set is last");
    }

    #[test]
    fn shared_files_are_parsed_once() {
        let d = kind_fleet("  - {name: c, platform: kind, groups: [env]}\n");
        let fleet = Fleet::load(&d.path().join("fleet.yaml")).unwrap();
        assert_eq!(fleet.files.len(), 2, "env.yaml and own.yaml, whatever the number of clusters");
        assert_eq!(fleet.platforms.len(), 1);
    }

    #[test]
    fn unknown_key_in_a_cluster_suggests_the_closest() {
        let e = parse_fleet("fleet.yaml", "clusters:\n  - name: a\n    platfrom: gke\n").unwrap_err();
        let msg = e.render();
        assert!(msg.starts_with("error: fleet.yaml:3:5: clusters[0].platfrom: unknown key of a fleet file"), "{msg}");
        assert!(msg.contains("did you mean `platform`?"), "{msg}");
    }

    #[test]
    fn unknown_group_suggests_the_closest() {
        let text = "groups: {prod: {}}\nclusters:\n  - {name: a, platform: kind, groups: [prdo]}\n";
        let msg = parse_fleet("fleet.yaml", text).unwrap_err().render();
        assert!(msg.contains("fleet.yaml:3:40: clusters[0].groups[0]: unknown group `prdo`"), "{msg}");
        assert!(msg.contains("did you mean `prod`?"), "{msg}");
    }

    #[test]
    fn duplicate_and_bad_cluster_names_are_errors() {
        let dup = "clusters:\n  - {name: a, platform: kind}\n  - {name: a, platform: kind}\n";
        assert!(parse_fleet("f", dup).unwrap_err().render().contains("cluster `a` is defined twice"));
        let bad = "clusters:\n  - {name: Prod_EU, platform: kind}\n";
        assert!(parse_fleet("f", bad).unwrap_err().render().contains("is not a DNS label"));
    }

    #[test]
    fn a_bad_set_in_the_fleet_points_at_the_fleet_file() {
        let text = "clusters:\n  - name: a\n    platform: kind\n    set: [\"no-equals\"]\n";
        let msg = parse_fleet("fleet.yaml", text).unwrap_err().render();
        assert!(msg.starts_with("error: fleet.yaml:4:11: clusters[0].set[0]: bad `--set` flag"), "{msg}");
    }

    #[test]
    fn a_failing_cluster_is_named_with_its_layer_position_and_nothing_is_written() {
        let d = kind_fleet("");
        write(d.path(), "own.yaml", "elasticsearch:\n  retension_days: 9\n");
        let fleet = Fleet::load(&d.path().join("fleet.yaml")).unwrap();
        let out = d.path().join("out");
        write(&out, "previous/file.yaml", "kept: true\n");
        let errors = fleet.render_to(&out, &FleetOptions::default(), &|_| {}).unwrap_err();
        assert_eq!(errors.len(), 1);
        let msg = errors[0].render();
        assert!(msg.starts_with("error: cluster `a`: "), "{msg}");
        assert!(msg.contains("own.yaml:2:3: elasticsearch.retension_days: unknown parameter"), "{msg}");
        assert!(out.join("previous/file.yaml").exists(), "the previous tree is untouched");
        assert!(!out.join("b").exists(), "the cluster that rendered is not written either");
        let leftovers: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("runway-tmp"))
            .collect();
        assert!(leftovers.is_empty(), "the staging folder is removed");
    }

    #[test]
    fn output_is_the_same_with_one_thread_or_four() {
        let d = kind_fleet("  - {name: c, platform: kind}\n  - {name: d, platform: kind, groups: [env]}\n");
        let fleet = Fleet::load(&d.path().join("fleet.yaml")).unwrap();
        let mut trees = Vec::new();
        for threads in [1, 4] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let out = d.path().join(format!("out{threads}"));
            let summary = pool.install(|| fleet.render_to(&out, &FleetOptions::default(), &|_| {})).unwrap();
            assert_eq!(summary.clusters, 4);
            let mut files = Vec::new();
            let mut stack = vec![out.clone()];
            while let Some(p) = stack.pop() {
                for e in std::fs::read_dir(&p).unwrap() {
                    let p = e.unwrap().path();
                    if p.is_dir() {
                        stack.push(p);
                    } else {
                        files.push((p.strip_prefix(&out).unwrap().to_path_buf(), std::fs::read(&p).unwrap()));
                    }
                }
            }
            files.sort();
            trees.push(files);
        }
        assert!(trees[0].len() > 40);
        assert_eq!(trees[0], trees[1]);
    }
}

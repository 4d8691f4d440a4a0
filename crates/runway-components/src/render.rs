//! The render pipeline: layers → parameters → objects → patches → checks → order.
//!
//! Every stage is a plain function of its inputs; nothing reads the environment or the
//! clock, so the same stack gives the same bytes.

use std::collections::BTreeMap;

use runway_core::merge::{merge, split_plus};
use runway_core::object::sort_canonical;
use runway_core::params::{join, read_params};
use runway_core::set::apply_set;
use runway_core::suggest::best_match;
use runway_core::validate::crd::CrdSchemas;
use runway_core::validate::{check_render, Facts};
use runway_core::{Error, ErrorKind, KeyPath, Node, Object, Segment, SourceId, SourceKind, SourceMap, Span, Value};

use crate::component::ErasedComponent;
use crate::context::{ClusterConfig, Context, Platform};
use crate::namespaces;
use crate::stack::{Layer, Stack};

/// Options of a render.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// Keep every object's provenance tree, for `explain` (costs time; off for `render`).
    pub keep_trails: bool,
    /// Build only this component (`explain elasticsearch.sts...` needs no other): every
    /// component's parameters are still read and published, but the others are not
    /// built, so facts only they need (a cloud project, an OIDC issuer) may be missing,
    /// and the whole-render reference checks are skipped.
    pub only: Option<String>,
}

/// The result of a render: objects in canonical order, plus what `explain` needs.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The objects, in canonical order.
    pub objects: Vec<Object>,
    /// The sources, for rendering errors and trails.
    pub sources: SourceMap,
    /// The resolved `platform`, `config` and per-component parameter trees.
    pub params: BTreeMap<String, Node>,
    /// Per component and object key, the object's tree with trails (with `keep_trails`).
    pub object_trees: BTreeMap<(String, String), Node>,
    /// Objects the render references but does not contain, which the cluster must already
    /// hold: `(kind, namespace, name)` (a Secret whose values were not given, ...).
    pub externals: std::collections::BTreeSet<runway_core::refs::ExternalRef>,
    /// The network flows each rendered component declared ([`crate::Component::network`]),
    /// by component name: what the NetworkPolicies allow.
    pub flows: Vec<(String, crate::network::Flows)>,
}

/// A patch aimed at one object.
enum ObjectPatch<'a> {
    Tree(&'a Node, bool),
    Set(&'a [Segment], &'a Node, Span),
}

impl Stack {
    /// Renders the stack with `components` (normally [`crate::ALL`]).
    pub fn render(&self, components: &[&dyn ErasedComponent]) -> Result<Rendered, RenderError> {
        self.render_with(components, RenderOptions::default())
    }

    /// Renders with options.
    pub fn render_with(
        &self,
        components: &[&dyn ErasedComponent],
        opts: RenderOptions,
    ) -> Result<Rendered, RenderError> {
        let mut sources = self.sources.clone();
        self.render_inner(components, opts, &mut sources).map_err(|error| RenderError(Box::new((error, sources))))
    }

    fn render_inner(
        &self,
        components: &[&dyn ErasedComponent],
        opts: RenderOptions,
        sources: &mut SourceMap,
    ) -> Result<Rendered, Error> {
        let Some(platform_layer) = &self.platform else {
            return Err(Error::new(ErrorKind::Conflict("no platform chosen".into()))
                .help("give `--platform NAME`, `--platform-file FILE` or a stack file with `platform:`"));
        };
        let trees: Vec<&Layer> = self.layers.iter().collect();
        let platform_tree = Layer::Tree(platform_layer.clone());
        let all_layers: Vec<&Layer> = std::iter::once(&platform_tree).chain(trees).collect();

        // 1. Every top-level key of every layer names something.
        let canonical = |k: &str| -> Option<&str> {
            components.iter().find(|c| c.name() == k || c.aliases().contains(&k)).map(|c| c.name())
        };
        for layer in &all_layers {
            check_top_level(layer, components, &canonical, sources)?;
        }
        if let Some(only) = &self.only {
            for (name, span) in only {
                if canonical(name).is_none() {
                    return Err(unknown(name, "component", *span, components.iter().map(|c| c.name()))
                        .with_path(KeyPath::root().key("components")));
                }
            }
        }

        // 2. Platform and cluster facts.
        let mut params = BTreeMap::new();
        let platform_node =
            resolve_block("platform", &plain_json(&Platform::default()), &all_layers, sources, &canonical, &[])?;
        let platform: Platform = read_params(&platform_node.0, &KeyPath::root().key("platform"), "platform")?;
        let config_node =
            resolve_block("config", &plain_json(&ClusterConfig::default()), &all_layers, sources, &canonical, &[])?;
        let config: ClusterConfig = read_params(&config_node.0, &KeyPath::root().key("config"), "config")?;
        check_config(&config, &config_node.0)?;
        let mut cx = Context {
            platform,
            config,
            published: Default::default(),
            secrets: self.secrets.clone(),
            omitted: BTreeMap::new(),
        };
        params.insert("platform".to_string(), platform_node.0);
        params.insert("config".to_string(), config_node.0);

        // 3. Components: parameters of all, then what each publishes, then build and patch.
        for name in cx.platform.components.keys() {
            // A name runway ships but this registry lacks (a library user's own list) is
            // fine; only a name nobody knows is a typo.
            if canonical(name).is_none()
                && !crate::ALL.iter().any(|c| c.name() == name || c.aliases().contains(&name.as_str()))
            {
                let node = params.get("platform").and_then(|p| p.get("components")).and_then(|c| c.entry(name));
                let span = node.map_or(Span::whole(SourceId(0)), |e| e.key_span);
                return Err(unknown(name, "component", span, components.iter().map(|c| c.name()))
                    .with_path(KeyPath::root().key("platform").key("components").key(name)));
            }
        }
        for name in cx.config.namespaces.keys() {
            // Per-component namespaces name components by their key (not an alias), as
            // the render looks them up.
            if canonical(name) != Some(name.as_str()) {
                let node = params.get("config").and_then(|p| p.get("namespaces")).and_then(|c| c.entry(name));
                let span = node.map_or(Span::whole(SourceId(0)), |e| e.key_span);
                return Err(unknown(name, "component", span, components.iter().map(|c| c.name()))
                    .with_path(KeyPath::root().key("config").key("namespaces").key(name)));
            }
        }
        let enabled = |c: &dyn ErasedComponent| -> bool {
            if let Some(only) = &self.only {
                return only.iter().any(|(n, _)| canonical(n) == Some(c.name()));
            }
            cx.platform
                .components
                .iter()
                .find(|(n, _)| canonical(n) == Some(c.name()))
                .map_or(c.default_enabled_on(&cx.platform), |(_, on)| *on)
        };
        let mut resolved = Vec::new();
        for c in components {
            if !enabled(*c) {
                continue;
            }
            let keys: Vec<&str> = c.objects().iter().map(|o| o.key).collect();
            let (pnode, patches) =
                resolve_block(c.name(), &c.default_params(), &all_layers, sources, &canonical, &keys)?;
            resolved.push((c, pnode, patches));
        }
        for (c, _, patches) in &resolved {
            // The last patch of each object decides whether a layer removed it.
            let mut last: BTreeMap<&str, bool> = BTreeMap::new();
            for (key, p) in patches {
                let removes = match p {
                    ObjectPatch::Tree(n, additive) => !additive && matches!(n.value, Value::Null),
                    ObjectPatch::Set(path, v, _) => path.is_empty() && matches!(v.value, Value::Null),
                };
                last.insert(key.as_str(), removes);
            }
            let keys: std::collections::BTreeSet<String> =
                last.into_iter().filter(|&(_, r)| r).map(|(k, _)| k.to_string()).collect();
            if !keys.is_empty() {
                cx.omitted.insert(c.name().to_string(), keys);
            }
        }
        let mut typed = Vec::with_capacity(resolved.len());
        for (c, pnode, _) in &resolved {
            typed.push(c.read(pnode)?);
        }
        let mut published = cx.published.clone();
        for ((c, _, _), p) in resolved.iter().zip(&typed) {
            c.publish_typed(p, &cx.for_component(c.name()), &mut published);
        }
        cx.published = published;
        let mut objects = Vec::new();
        let mut externals = std::collections::BTreeSet::new();
        let mut known_crds = Vec::new();
        // The patched objects' trees: `explain` reads them (with `keep_trails`), and a
        // validation error is pointed at the override that set the offending field.
        let mut patched: BTreeMap<(String, String), Node> = BTreeMap::new();
        // The flows of every workload, for the NetworkPolicies written after all builds.
        let flows: Vec<(&str, Vec<crate::network::Flows>)> = resolved
            .iter()
            .zip(&typed)
            .map(|((c, _, _), p)| (c.name(), c.network_typed(p, &cx.for_component(c.name()))))
            .collect();
        let policy_key = |component: &str, key: &str| {
            cx.config.network_policies && flows.iter().any(|(n, fs)| *n == component && fs.iter().any(|f| f.key == key))
        };
        let mut kept_patches = Vec::new();
        for ((c, pnode, patches), p) in resolved.into_iter().zip(&typed) {
            if opts.only.as_deref().is_some_and(|only| canonical(only).unwrap_or(only) != c.name()) {
                params.insert(c.name().to_string(), pnode);
                continue;
            }
            let ccx = cx.for_component(c.name());
            externals.extend(c.externals_typed(p, &ccx));
            known_crds.extend(c.known_crds_typed(p, &ccx));
            let mut built = c.build_typed(p, &pnode, &ccx)?;
            crate::images::set_pull_policies(&mut built);
            let built_src = sources.add(format!("component `{}`", c.name()), SourceKind::Built, "");
            for (key, _) in &patches {
                if !built.iter().any(|o| o.key == *key) && !cx.omits(c.name(), key) && !policy_key(c.name(), key) {
                    let span = patches.iter().find(|(k, _)| k == key).map(|(_, p)| patch_span(p));
                    let mut e = Error::invalid(format!("object `{key}` is not rendered with these parameters"))
                        .with_path(KeyPath::root().key(c.name()).key(key));
                    if let Some(s) = span {
                        e = e.at(s);
                    }
                    return Err(e.note(format!("`runway components {}` says when each object is rendered", c.name())));
                }
            }
            for obj in built {
                let mine: Vec<&ObjectPatch> = patches.iter().filter(|(k, _)| *k == obj.key).map(|(_, p)| p).collect();
                if let Some((obj, tree)) = patch_object(obj, &mine, c.name(), built_src, opts.keep_trails)? {
                    if let Some(tree) = tree {
                        patched.insert((c.name().to_string(), obj.key.clone()), tree);
                    }
                    objects.push(obj);
                }
            }
            // checkov waivers: the component's own, and those the render derives.
            let api: Vec<&str> = flows
                .iter()
                .filter(|(n, _)| *n == c.name())
                .flat_map(|(_, fs)| fs.iter().filter(|f| f.talks_to_api()).map(|f| f.workload))
                .collect();
            let mut waivers = c.waivers_typed(p, &cx.for_component(c.name()));
            waivers.extend(crate::waivers::derived(&objects, c.name(), &api));
            crate::waivers::apply(&mut objects, c.name(), &waivers);
            kept_patches.push((c.name(), patches));
            params.insert(c.name().to_string(), pnode);
        }

        // NetworkPolicies from the declared flows, patched like the other objects.
        if cx.config.network_policies && opts.only.is_none() {
            let built_src = sources.add("network policies".to_string(), SourceKind::Built, "");
            for obj in crate::network::policies(&objects, &flows)? {
                let mine: Vec<&ObjectPatch> = kept_patches
                    .iter()
                    .filter(|(n, _)| *n == obj.component)
                    .flat_map(|(_, ps)| ps.iter().filter(|(k, _)| *k == obj.key).map(|(_, p)| p))
                    .collect();
                let component = obj.component.clone();
                if let Some((obj, tree)) = patch_object(obj, &mine, &component, built_src, opts.keep_trails)? {
                    if let Some(tree) = tree {
                        patched.insert((component, obj.key.clone()), tree);
                    }
                    objects.push(obj);
                }
            }
        }

        let rendered: Vec<&str> =
            params.keys().filter(|k| *k != "platform" && *k != "config").map(String::as_str).collect();
        let digest = crate::release::inputs_digest(sources, self.sources_len());
        objects.push(crate::release::release_config_map(cx.namespace(), &cx.platform.name, &rendered, &digest));

        // Pods that use a ConfigMap or Secret another component rendered get its checksum,
        // so a change there rolls them too.
        crate::common::checksum::annotate_referenced_checksums(&mut objects);

        if let Some(mirror) = &cx.config.registry_mirror {
            crate::images::apply_mirror(&mut objects, mirror);
        }

        // 4. Namespaces, order, uniqueness.
        let ns = namespaces::namespaces_for(&objects);
        objects.extend(ns);
        sort_canonical(&mut objects);
        for w in objects.windows(2) {
            if w[0].kind() == w[1].kind() && w[0].namespace() == w[1].namespace() && w[0].name() == w[1].name() {
                return Err(Error::new(ErrorKind::InvalidObject(format!(
                    "{} `{}` is rendered twice: by `{}.{}` and by `{}.{}`",
                    w[0].kind(),
                    w[0].name(),
                    w[0].component,
                    w[0].key,
                    w[1].component,
                    w[1].key
                ))));
            }
        }
        if opts.only.is_none() {
            let mut crds = CrdSchemas::from_objects(&objects);
            // The Prometheus Operator's CRDs, whichever components render monitors and rules.
            if cx.platform.monitoring.operator() {
                known_crds.extend(crate::prometheus::operator_crds::known());
            }
            for doc in known_crds {
                crds.add_document(doc)?;
            }
            let facts = Facts { externals: &externals, storage_classes: &cx.platform.storage_classes, crds: &crds };
            check_render(&objects, &facts).map_err(|e| locate(e, &patched, sources))?;
        }
        let flows = flows.into_iter().flat_map(|(n, fs)| fs.into_iter().map(move |f| (n.to_string(), f))).collect();
        let object_trees = if opts.keep_trails { patched } else { BTreeMap::new() };
        Ok(Rendered { objects, sources: sources.clone(), params, object_trees, externals, flows })
    }
}

/// Points a validation error (path `component.key.field...`) at the override that set the
/// field, when a layer patched that object and set the field (or the deepest part of its
/// path that exists); a field the component built is left without a span.
fn locate(e: Error, patched: &BTreeMap<(String, String), Node>, sources: &SourceMap) -> Error {
    let Some([Segment::Key(component), Segment::Key(key), rel @ ..]) = e.path().map(KeyPath::segments) else {
        return e;
    };
    let Some(tree) = patched.get(&(component.clone(), key.clone())) else { return e };
    let span = tree.span_of(&KeyPath(rel.to_vec()));
    match sources.get(span.source).map(|s| s.kind) {
        Some(SourceKind::Built | SourceKind::Defaults) | None => e,
        Some(_) => e.at(span),
    }
}

/// Applies a component's patches of one object; `None` when a patch removes it. A patched
/// object (every object, with `keep_trails`) comes with its tree with provenance.
fn patch_object(
    mut obj: Object,
    mine: &[&ObjectPatch],
    component: &str,
    built_src: SourceId,
    keep_trails: bool,
) -> Result<Option<(Object, Option<Node>)>, Error> {
    let prefix = KeyPath::root().key(component).key(&obj.key);
    if mine.is_empty() && !keep_trails {
        // Built from a k8s-openapi type and not patched: it is already what the
        // type serializes to (tests round-trip every such object too); only the
        // API server's naming rules are left to check.
        obj.check_names().map_err(|e| {
            let rel = e.path().cloned().unwrap_or_default();
            e.replace_path(join(&prefix, &rel))
        })?;
        return Ok(Some((obj, None)));
    }
    let mut tree = Node::from_json(&obj.value, Span::whole(built_src));
    let mut removed = false;
    for p in mine {
        match p {
            ObjectPatch::Tree(n, additive) => {
                if matches!(n.value, Value::Null) && !additive {
                    removed = true;
                    continue;
                }
                removed = false;
                if !matches!(n.value, Value::Map(_)) {
                    return Err(Error::new(ErrorKind::NotMapping { found: n.type_name() })
                        .at(n.span())
                        .with_path(prefix.clone())
                        .help("patch an object with a mapping of its fields, or `null` to leave it out"));
                }
                merge(&mut tree, n, "").map_err(|e| e.with_path(prefix.clone()))?;
            }
            ObjectPatch::Set(path, value, _) if path.is_empty() && matches!(value.value, Value::Null) => {
                removed = true;
            }
            ObjectPatch::Set(path, value, span) => {
                removed = false;
                apply_set(&mut tree, path, value, *span).map_err(|e| e.with_path(prefix.clone()))?;
            }
        }
    }
    if removed {
        return Ok(None);
    }
    obj.value = tree.to_json().into();
    obj.check_round_trip().map_err(|e| {
        let rel = e.path().cloned().unwrap_or_default();
        let span = tree.span_of(&rel);
        e.replace_path(join(&prefix, &rel)).at(span)
    })?;
    // The tree is kept for every patched object: a validation error found later in the
    // render is pointed at the override that set the field.
    Ok(Some((obj, Some(tree))))
}

/// True when some object key is nested under parameter `k` (`alertmanager.sts`).
fn has_nested(object_keys: &[&str], k: &str) -> bool {
    object_keys.iter().any(|o| o.strip_prefix(k).is_some_and(|rest| rest.starts_with('.')))
}

/// The node at `block[key][sub]` (both exist: the caller found them there).
fn nested_ref<'a>(block: &'a Node, key: &str, sub: &str) -> &'a Node {
    block.entry(key).and_then(|e| e.node.entry(sub)).map(|e| &e.node).expect("the caller found this entry in the block")
}

/// JSON of a plain-data type.
fn plain_json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    // Invariant: platform and config types are plain data (string keys, finite numbers).
    serde_json::to_value(v).expect("plain data serializes to JSON")
}

fn patch_span(p: &ObjectPatch) -> Span {
    match p {
        ObjectPatch::Tree(n, _) => n.span(),
        ObjectPatch::Set(_, _, s) => *s,
    }
}

/// Cluster facts that end up in names and hosts must be valid there: a bad namespace or
/// DNS zone would otherwise surface as a dozen object-name errors far from the cause.
fn check_config(config: &ClusterConfig, node: &Node) -> Result<(), Error> {
    let at = |key: &str| {
        let path = KeyPath::root().key("config").key(key);
        (node.span_of(&KeyPath::root().key(key)), path)
    };
    if !runway_core::names::is_dns_label(&config.namespace) {
        let (span, path) = at("namespace");
        return Err(Error::invalid(format!(
            "`{}` is not a valid namespace name: at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit",
            config.namespace
        ))
        .at(span)
        .with_path(path)
        .help("e.g. `kubeprod`"));
    }
    if let Some(zone) = &config.dns_zone {
        let zone = zone.strip_suffix('.').unwrap_or(zone);
        // Hosts are `<sub>.<zone>`: each must be a lowercase DNS subdomain (Ingress rules).
        if !runway_core::names::is_dns_subdomain(zone) || !zone.contains('.') {
            let (span, path) = at("dns_zone");
            return Err(Error::invalid(format!(
                "`{zone}` is not a DNS zone: expected lowercase labels joined by dots"
            ))
            .at(span)
            .with_path(path)
            .help("e.g. `example.com` or `k8s.example.com`"));
        }
    }
    Ok(())
}

fn unknown<'a>(key: &str, what: &str, span: Span, candidates: impl IntoIterator<Item = &'a str>) -> Error {
    let mut e = Error::new(ErrorKind::UnknownKey { what: what.to_string() }).at(span);
    if let Some(m) = best_match(key, candidates) {
        e = e.help(format!("did you mean `{m}`?"));
    }
    e
}

fn check_top_level<'c>(
    layer: &Layer,
    components: &[&'c dyn ErasedComponent],
    canonical: &dyn Fn(&str) -> Option<&'c str>,
    sources: &SourceMap,
) -> Result<(), Error> {
    let mut candidates: Vec<&str> = vec!["platform", "config"];
    candidates.extend(components.iter().map(|c| c.name()));
    let check = |key: &str, span: Span| -> Result<(), Error> {
        let (name, _) = split_plus(key);
        if name == "platform" || name == "config" || canonical(name).is_some() {
            return Ok(());
        }
        // A stack file's own keys are candidates only there (`overides:` in a stack file).
        let in_stack = sources.get(span.source).is_some_and(|s| s.kind == SourceKind::Stack);
        let mut candidates = candidates.clone();
        if in_stack {
            candidates.extend(["overrides", "components"]);
        }
        let stack_only = ["components", "overrides"].contains(&name);
        let mut e = unknown(name, "component", span, candidates.iter().copied()).with_path(KeyPath::root().key(name));
        if stack_only {
            e = e.help(format!("`{name}` is read only in a stack file (`--stack`)"));
        }
        Err(e.note("`runway components` lists the components"))
    };
    match layer {
        Layer::Tree(n) => {
            for e in n.as_map().unwrap_or(&[]) {
                check(&e.key, e.key_span)?;
            }
        }
        Layer::Set(f) => {
            if let Some(Segment::Key(k)) = f.path.segments().first() {
                check(k, f.path_span)?;
            } else {
                return Err(Error::new(ErrorKind::BadSet("a path starts with a component name".into())).at(f.path_span));
            }
        }
    }
    Ok(())
}

/// Merges the `name` block of every layer onto `defaults`: parameter keys merge into the
/// parameter tree; keys in `object_keys` are collected as patches for those objects.
#[allow(clippy::type_complexity)]
fn resolve_block<'l, 'c>(
    name: &str,
    defaults: &serde_json::Value,
    layers: &[&'l Layer],
    sources: &mut SourceMap,
    canonical: &dyn Fn(&str) -> Option<&'c str>,
    object_keys: &[&str],
) -> Result<(Node, Vec<(String, ObjectPatch<'l>)>), Error> {
    let src = sources.add(format!("defaults of {name}"), SourceKind::Defaults, "");
    let mut base = Node::from_json(defaults, Span::whole(src));
    let param_keys: Vec<String> = defaults.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    // Parameters that are a map of the user's names (`hpas: {web: {...}}`) have no fixed
    // keys: every key is a parameter, and reading the parameters checks each entry.
    let open = object_keys.is_empty() && defaults.as_object().is_some_and(|m| m.is_empty());
    let mut patches = Vec::new();
    let prefix = KeyPath::root().key(name);
    for layer in layers {
        match layer {
            Layer::Tree(root) => {
                for top in root.as_map().unwrap_or(&[]) {
                    let (tname, _) = split_plus(&top.key);
                    let is_me = tname == name || canonical(tname) == Some(name);
                    if !is_me {
                        continue;
                    }
                    let block = &top.node;
                    match &block.value {
                        Value::Map(entries) => {
                            for e in entries {
                                let (k, additive) = split_plus(&e.key);
                                if k == "$patch" {
                                    return Err(Error::invalid("`$patch` is not supported on a whole component")
                                        .at(e.key_span)
                                        .with_path(prefix.clone()));
                                }
                                if object_keys.contains(&k) {
                                    patches.push((k.to_string(), ObjectPatch::Tree(&e.node, additive)));
                                } else if open || param_keys.iter().any(|p| p == k) {
                                    // A sub-component (prometheus's `alertmanager`) holds both
                                    // parameters and patches of its objects (`alertmanager.sts`).
                                    let mut e = e.clone();
                                    if let (Value::Map(sub), true) = (&e.node.value, has_nested(object_keys, k)) {
                                        let mut params_only = Vec::new();
                                        for se in sub {
                                            let (x, add) = split_plus(&se.key);
                                            let full = format!("{k}.{x}");
                                            if object_keys.contains(&full.as_str()) {
                                                patches.push((
                                                    full,
                                                    ObjectPatch::Tree(nested_ref(block, &e.key, &se.key), add),
                                                ));
                                            } else {
                                                params_only.push(se.clone());
                                            }
                                        }
                                        e.node.value = Value::Map(params_only);
                                    }
                                    let one = Node::new(Value::Map(vec![e]), block.span());
                                    merge(&mut base, &one, "").map_err(|err| err.with_path(prefix.key(k)))?;
                                } else {
                                    let mut cands: Vec<&str> = param_keys.iter().map(String::as_str).collect();
                                    cands.extend(object_keys);
                                    let (what, note) = if object_keys.is_empty() {
                                        ("key", format!("`runway schema` describes the keys of `{name}`"))
                                    } else {
                                        (
                                            "parameter or object",
                                            format!("`runway components {name}` lists its parameters and objects"),
                                        )
                                    };
                                    return Err(unknown(k, what, e.key_span, cands)
                                        .with_path(prefix.key(k))
                                        .note(note));
                                }
                            }
                        }
                        Value::Null => {}
                        _ => {
                            return Err(Error::new(ErrorKind::NotMapping { found: block.type_name() })
                                .at(block.span())
                                .with_path(prefix.clone()))
                        }
                    }
                }
            }
            Layer::Set(flag) => {
                let segs = flag.path.segments();
                let Some(Segment::Key(top)) = segs.first() else { continue };
                if !(top == name || canonical(top) == Some(name)) {
                    continue;
                }
                match segs.get(1) {
                    Some(Segment::Key(k)) if object_keys.contains(&k.as_str()) => {
                        patches.push((k.clone(), ObjectPatch::Set(&segs[2..], &flag.value, flag.path_span)));
                    }
                    Some(Segment::Key(k)) if matches!(segs.get(2), Some(Segment::Key(x)) if object_keys.contains(&format!("{k}.{x}").as_str())) =>
                    {
                        let Some(Segment::Key(x)) = segs.get(2) else { unreachable!("matched above") };
                        patches.push((format!("{k}.{x}"), ObjectPatch::Set(&segs[3..], &flag.value, flag.path_span)));
                    }
                    Some(Segment::Key(k)) if open || param_keys.iter().any(|p| p == k) => {
                        apply_set(&mut base, &segs[1..], &flag.value, flag.path_span)
                            .map_err(|e| e.with_path(flag.path.clone()))?;
                    }
                    Some(Segment::Key(k)) => {
                        let mut cands: Vec<&str> = param_keys.iter().map(String::as_str).collect();
                        cands.extend(object_keys);
                        return Err(unknown(k, "parameter or object", flag.path_span, cands).with_path(prefix.key(k)));
                    }
                    _ => {
                        return Err(Error::new(ErrorKind::BadSet(format!(
                            "set a parameter of `{name}`, not the whole block"
                        )))
                        .at(flag.path_span))
                    }
                }
            }
        }
    }
    Ok((base, patches))
}

/// A failed render: the error and the sources it points into.
#[derive(Clone, Debug)]
pub struct RenderError(Box<(Error, SourceMap)>);

impl RenderError {
    /// The error.
    pub fn error(&self) -> &Error {
        &self.0 .0
    }

    /// The error and the sources it points into.
    pub fn into_parts(self) -> (Error, SourceMap) {
        *self.0
    }

    /// The full message with excerpts, for the edge.
    pub fn render(&self) -> String {
        self.0 .0.render(&self.0 .1)
    }
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0 .0, f)
    }
}

impl std::error::Error for RenderError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elasticsearch::Elasticsearch;

    fn render_with(layer: &str) -> Result<Rendered, RenderError> {
        let mut s = Stack::new();
        s.platform("gke", "test").expect("gke platform");
        s.layer("override.yaml", SourceKind::File, layer).expect("layer");
        s.render(&[&Elasticsearch])
    }

    #[test]
    fn a_finding_in_a_field_a_layer_set_points_at_the_layer() {
        let e = render_with("elasticsearch:\n  sts:\n    metadata:\n      labels:\n        helm.sh/chart: es-1.0.0\n    spec:\n      selector:\n        matchLabels:\n          helm.sh/chart: es-1.0.0\n")
            .expect_err("a chart label in the selector");
        let span = e.error().span().expect("the override's span");
        assert_eq!((span.line, span.col), (9, 26));
        assert!(
            e.render().starts_with("error: override.yaml:9:26: elasticsearch.sts.spec.selector.matchLabels"),
            "{}",
            e.render()
        );
    }

    #[test]
    fn a_finding_in_a_built_field_of_a_patched_object_has_no_span() {
        // The layer patches the StatefulSet, but the claim's storage class is the
        // component's: there is no override to point at, only the key path.
        let e = render_with(
            "platform:\n  storage_classes: [fast]\nelasticsearch:\n  sts:\n    metadata:\n      annotations:\n        team: logs\n",
        )
        .expect_err("standard-rwo is not in the list");
        assert_eq!(e.error().span(), None, "{}", e.render());
        assert_eq!(
            e.error().path().map(ToString::to_string).as_deref(),
            Some("elasticsearch.sts.spec.volumeClaimTemplates[0].spec.storageClassName")
        );
    }

    #[test]
    fn the_examples_objects_pass_every_check() {
        assert!(render_with("{}\n").is_ok());
    }
}

//! The component model: typed parameters in, typed Kubernetes objects out.

use std::any::Any;

use runway_core::params::{read_params, schema_of};
use runway_core::refs::ExternalRef;
use runway_core::{Error, KeyPath, Node, Object, Segment};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::{Context, Platform, Published};
use crate::network::Flows;
use crate::waivers::Waiver;

/// One object a component may render, as `runway components NAME` lists it.
#[derive(Clone, Copy, Debug)]
pub struct ObjectDoc {
    /// The key override files patch it under (BKPR's: `sts`, `svc`, ...).
    pub key: &'static str,
    /// Its kind.
    pub kind: &'static str,
    /// What it is for.
    pub doc: &'static str,
}

/// A component of the runtime: a layer key, typed parameters and a builder.
pub trait Component: Sync + 'static {
    /// Key in layers (`elasticsearch`, `nginx_ingress`).
    const NAME: &'static str;
    /// Other keys accepted for it (BKPR's short names, e.g. `edns`).
    const ALIASES: &'static [&'static str] = &[];
    /// One line for `runway components`.
    const SUMMARY: &'static str;
    /// Rendered unless the platform or stack says otherwise (`platform.components`).
    /// Default: `true`; components for one platform only (onprem's keycloak) say `false`.
    const DEFAULT_ENABLED: bool = true;
    /// Whether it renders on `platform` when neither the platform's `components` nor a
    /// stack's `components:` says: [`Component::DEFAULT_ENABLED`] unless the component
    /// depends on a platform choice (the ingress controllers follow
    /// `platform.ingress_controller`).
    fn default_enabled_on(_platform: &Platform) -> bool {
        Self::DEFAULT_ENABLED
    }
    /// The objects it may render, by key.
    const OBJECTS: &'static [ObjectDoc];
    /// Its parameters; `Default` gives the component defaults (the lowest layer).
    type Params: Default + DeserializeOwned + Serialize + JsonSchema + Send + Sync;
    /// Publishes facts other components use (its Service, its issuer), before any builds.
    /// Default: nothing.
    fn publish(_params: &Self::Params, _cx: &Context, _published: &mut Published) {}
    /// Objects its pods reference that the user provides outside the render (a Secret
    /// with credentials), as `(kind, namespace, name)`. Default: none.
    fn externals(_params: &Self::Params, _cx: &Context) -> Vec<ExternalRef> {
        Vec::new()
    }
    /// CustomResourceDefinitions (as JSON documents) that the cluster already has and the
    /// render does not contain, whose custom resources this component renders (the
    /// Prometheus Operator's, when it is installed apart): the render validates those
    /// resources against them ([`runway_core::validate::crd`]). Default: none.
    fn known_crds(_params: &Self::Params, _cx: &Context) -> Vec<serde_json::Value> {
        Vec::new()
    }
    /// Builds the objects from parameters and platform facts.
    fn build(params: &Self::Params, cx: &Context) -> Result<Vec<Object>, Error>;
    /// The network flows of each of its workloads, from which the render derives the
    /// NetworkPolicies ([`crate::network`]); every workload with its own pod network
    /// declares one entry. Default: none (the component renders no pods).
    fn network(_params: &Self::Params, _cx: &Context) -> Vec<Flows> {
        Vec::new()
    }
    /// checkov findings its objects accept, each with the reason ([`crate::waivers`]).
    /// Default: none.
    fn waivers(_params: &Self::Params, _cx: &Context) -> Vec<Waiver> {
        Vec::new()
    }
}

/// [`Component`] with the types erased, so a registry can hold any component as `dyn`.
pub trait ErasedComponent: Sync {
    /// [`Component::NAME`].
    fn name(&self) -> &'static str;
    /// [`Component::ALIASES`].
    fn aliases(&self) -> &'static [&'static str];
    /// [`Component::SUMMARY`].
    fn summary(&self) -> &'static str;
    /// [`Component::OBJECTS`].
    fn objects(&self) -> &'static [ObjectDoc];
    /// [`Component::DEFAULT_ENABLED`].
    fn default_enabled(&self) -> bool;
    /// [`Component::default_enabled_on`].
    fn default_enabled_on(&self, platform: &Platform) -> bool;
    /// The defaults as JSON.
    fn default_params(&self) -> serde_json::Value;
    /// The parameters' JSON schema.
    fn params_schema(&self) -> serde_json::Value;
    /// Reads the typed parameters from the merged tree (errors point into the layers).
    /// The render reads each component's parameters once and hands them back below.
    fn read(&self, params: &Node) -> Result<TypedParams, Error>;
    /// Publishes facts into `published` ([`Component::publish`]).
    fn publish_typed(&self, params: &TypedParams, cx: &Context, published: &mut Published);
    /// What the component expects outside the render ([`Component::externals`]).
    fn externals_typed(&self, params: &TypedParams, cx: &Context) -> Vec<ExternalRef>;
    /// CRDs the cluster has that the render does not ([`Component::known_crds`]).
    fn known_crds_typed(&self, params: &TypedParams, cx: &Context) -> Vec<serde_json::Value>;
    /// Builds ([`Component::build`]); `node` is the parameter tree, to point errors at
    /// the layer that set the offending parameter.
    fn build_typed(&self, params: &TypedParams, node: &Node, cx: &Context) -> Result<Vec<Object>, Error>;
    /// [`Component::network`].
    fn network_typed(&self, params: &TypedParams, cx: &Context) -> Vec<Flows>;
    /// [`Component::waivers`].
    fn waivers_typed(&self, params: &TypedParams, cx: &Context) -> Vec<Waiver>;
}

/// A component's typed parameters behind the erased interface; only the component that
/// read them can look inside.
pub struct TypedParams(Box<dyn Any + Send + Sync>);

impl<C: Component> ErasedComponent for C {
    fn name(&self) -> &'static str {
        C::NAME
    }
    fn aliases(&self) -> &'static [&'static str] {
        C::ALIASES
    }
    fn summary(&self) -> &'static str {
        C::SUMMARY
    }
    fn objects(&self) -> &'static [ObjectDoc] {
        C::OBJECTS
    }
    fn default_enabled(&self) -> bool {
        C::DEFAULT_ENABLED
    }
    fn default_enabled_on(&self, platform: &Platform) -> bool {
        C::default_enabled_on(platform)
    }
    fn default_params(&self) -> serde_json::Value {
        // Invariant: parameter types are plain data (no maps with non-string keys).
        serde_json::to_value(C::Params::default()).expect("component defaults serialize to JSON")
    }
    fn params_schema(&self) -> serde_json::Value {
        schema_of::<C::Params>()
    }
    fn read(&self, params: &Node) -> Result<TypedParams, Error> {
        let p: C::Params = read_params(params, &KeyPath::root().key(C::NAME), C::NAME)?;
        Ok(TypedParams(Box::new(p)))
    }
    fn publish_typed(&self, params: &TypedParams, cx: &Context, published: &mut Published) {
        C::publish(typed::<C>(params), cx, published);
    }
    fn externals_typed(&self, params: &TypedParams, cx: &Context) -> Vec<ExternalRef> {
        C::externals(typed::<C>(params), cx)
    }
    fn known_crds_typed(&self, params: &TypedParams, cx: &Context) -> Vec<serde_json::Value> {
        C::known_crds(typed::<C>(params), cx)
    }

    fn network_typed(&self, params: &TypedParams, cx: &Context) -> Vec<Flows> {
        C::network(typed::<C>(params), cx)
    }
    fn waivers_typed(&self, params: &TypedParams, cx: &Context) -> Vec<Waiver> {
        C::waivers(typed::<C>(params), cx)
    }
    fn build_typed(&self, params: &TypedParams, node: &Node, cx: &Context) -> Result<Vec<Object>, Error> {
        let params_node = node;
        C::build(typed::<C>(params), cx).map_err(|e| {
            // Point the error at the layer that set the offending parameter.
            let e = e.with_path(KeyPath::root().key(C::NAME));
            let rel = match e.path().map(|p| p.segments()) {
                Some([Segment::Key(first), rest @ ..]) if first == C::NAME => KeyPath(rest.to_vec()),
                _ => KeyPath::root(),
            };
            let span = params_node.span_of(&rel);
            if e.span().is_none() && !rel.is_empty() {
                e.at(span)
            } else {
                e
            }
        })
    }
}

/// The parameters of `C` inside `p`.
fn typed<C: Component>(p: &TypedParams) -> &C::Params {
    // Invariant: the render hands each component only the TypedParams its own `read`
    // returned, so the box holds `C::Params`.
    p.0.downcast_ref::<C::Params>().expect("parameters of another component")
}

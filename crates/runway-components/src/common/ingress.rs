//! Ingresses for the runtime's UIs and endpoints: every one gets TLS from cert-manager
//! (the platform's ingress class, a `<name>-tls` Secret, the cluster issuer cert-manager
//! published) and, for a UI without its own login, oauth2-proxy authentication through
//! the chosen ingress controller (`platform.ingress_controller`): nginx's `auth-url` and
//! `auth-signin` annotations, or Traefik's forwardAuth middleware that the `traefik`
//! component defines ([`crate::traefik::AUTH_MIDDLEWARE_REF`]).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec,
    IngressTLS, ServiceBackendPort,
};
use runway_core::Error;

use crate::common::meta;
use crate::context::{Context, IngressController};

/// Annotation that asks cert-manager's ingress-shim for a certificate from a ClusterIssuer.
pub const CLUSTER_ISSUER_ANNOTATION: &str = "cert-manager.io/cluster-issuer";

/// Traefik: the entry points a router listens on.
pub const TRAEFIK_ENTRYPOINTS_ANNOTATION: &str = "traefik.ingress.kubernetes.io/router.entrypoints";
/// Traefik: the router serves TLS (with the certificate of the Ingress's `tls` Secret).
pub const TRAEFIK_TLS_ANNOTATION: &str = "traefik.ingress.kubernetes.io/router.tls";
/// Traefik: the middlewares a router runs, as `NAME@PROVIDER`.
pub const TRAEFIK_MIDDLEWARES_ANNOTATION: &str = "traefik.ingress.kubernetes.io/router.middlewares";

/// What an Ingress exposes.
#[derive(Clone, Debug)]
pub struct IngressSpecFor<'a> {
    /// Object name (BKPR's: `kibana-logging`, `prometheus`, ...).
    pub name: &'a str,
    /// Host label under the DNS zone (`kibana` gives `kibana.<dns_zone>`).
    pub sub: &'a str,
    /// The Service behind it.
    pub service: &'a str,
    /// The Service port, by name.
    pub port_name: &'a str,
    /// Put oauth2-proxy in front (for UIs without their own login).
    pub authenticated: bool,
    /// The component, for messages and labels.
    pub component: &'a str,
}

/// Builds the Ingress. Errors when `config.dns_zone` is unset, or when `authenticated` is
/// asked for and oauth2-proxy is not rendered (a UI must never be published without login).
/// A component does not call it when a layer removes the Ingress ([`Context::omits`]).
pub fn ui_ingress(spec: &IngressSpecFor, cx: &Context) -> Result<Ingress, Error> {
    let host = cx.host(spec.sub, spec.component)?;
    let mut annotations = BTreeMap::new();
    if let Some(issuer) = &cx.published.tls_issuer {
        annotations.insert(CLUSTER_ISSUER_ANNOTATION.to_string(), issuer.clone());
    }
    if spec.authenticated && cx.published.auth.is_none() {
        return Err(Error::invalid(format!(
            "`{}` publishes a UI at `{host}` without its own login, but `oauth2_proxy` is not rendered",
            spec.component
        ))
        .help("render `oauth2_proxy` too (add it to the stack's `components:`), or leave the Ingress out with `ingress: null`"));
    }
    match (cx.platform.ingress_controller, &cx.published.auth) {
        (IngressController::Nginx, auth) => {
            if let (true, Some(auth)) = (spec.authenticated, auth) {
                annotations.insert("nginx.ingress.kubernetes.io/auth-url".into(), auth.auth_url.clone());
                annotations.insert("nginx.ingress.kubernetes.io/auth-signin".into(), auth.signin_url.clone());
                annotations.insert(
                    "nginx.ingress.kubernetes.io/auth-response-headers".into(),
                    "X-Auth-Request-User,X-Auth-Request-Email".into(),
                );
            }
            annotations.insert("nginx.ingress.kubernetes.io/ssl-redirect".into(), "true".into());
        }
        (IngressController::Traefik, _) => {
            // HTTPS only on this router; plain HTTP is redirected by the traefik
            // component's catch-all router, which cert-manager's HTTP-01 solver outranks.
            annotations.insert(TRAEFIK_ENTRYPOINTS_ANNOTATION.into(), crate::traefik::HTTPS_ENTRYPOINT.into());
            annotations.insert(TRAEFIK_TLS_ANNOTATION.into(), "true".into());
            if spec.authenticated {
                annotations.insert(TRAEFIK_MIDDLEWARES_ANNOTATION.into(), crate::traefik::AUTH_MIDDLEWARE_REF.into());
            }
        }
    }
    let mut metadata = meta::namespaced(spec.name, cx.namespace(), meta::labels(spec.name, spec.component));
    metadata.annotations = Some(annotations);
    Ok(Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: Some(cx.platform.ingress_class_name().to_string()),
            tls: Some(vec![IngressTLS {
                hosts: Some(vec![host.clone()]),
                secret_name: Some(format!("{}-tls", spec.name)),
            }]),
            rules: Some(vec![IngressRule {
                host: Some(host),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: spec.service.to_string(),
                                port: Some(ServiceBackendPort { name: Some(spec.port_name.to_string()), number: None }),
                            }),
                            resource: None,
                        },
                    }],
                }),
            }]),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The Ingress as the object under `key`, or nothing when a layer removes that key
/// (`kibana: {ingress: null}`): then neither a DNS zone nor oauth2-proxy is required.
pub fn ingress_object(key: &str, spec: &IngressSpecFor, cx: &Context) -> Result<Vec<runway_core::Object>, Error> {
    if cx.omits(spec.component, key) {
        return Ok(Vec::new());
    }
    Ok(vec![runway_core::Object::new(spec.component, key, &ui_ingress(spec, cx)?)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{AuthRef, ServiceRef};

    fn cx(controller: IngressController) -> Context {
        let mut cx = Context::default();
        cx.platform.ingress_controller = controller;
        cx.config.dns_zone = Some("example.com".into());
        cx.published.tls_issuer = Some("letsencrypt-prod".into());
        cx.published.auth = Some(AuthRef {
            auth_url: "https://auth.example.com/oauth2/auth".into(),
            signin_url: "https://auth.example.com/oauth2/start?rd=$scheme://$host$escaped_request_uri".into(),
        });
        cx.published.auth_service =
            Some(ServiceRef { name: "oauth2-proxy".into(), namespace: "kubeprod".into(), port: 4180 });
        cx
    }

    fn spec(authenticated: bool) -> IngressSpecFor<'static> {
        IngressSpecFor {
            name: "kibana-logging",
            sub: "kibana",
            service: "kibana",
            port_name: "http",
            authenticated,
            component: "kibana",
        }
    }

    fn annotations(i: &Ingress) -> BTreeMap<String, String> {
        i.metadata.annotations.clone().unwrap_or_default()
    }

    #[test]
    fn nginx_ingresses_keep_the_auth_url_annotations() {
        let i = ui_ingress(&spec(true), &cx(IngressController::Nginx)).expect("builds");
        let a = annotations(&i);
        assert_eq!(a["nginx.ingress.kubernetes.io/auth-url"], "https://auth.example.com/oauth2/auth");
        assert_eq!(a["nginx.ingress.kubernetes.io/ssl-redirect"], "true");
        assert!(a.keys().all(|k| !k.starts_with("traefik.")));
        assert_eq!(i.spec.as_ref().and_then(|s| s.ingress_class_name.as_deref()), Some("nginx"));
    }

    #[test]
    fn traefik_ingresses_use_websecure_tls_and_the_forward_auth_middleware() {
        let i = ui_ingress(&spec(true), &cx(IngressController::Traefik)).expect("builds");
        let a = annotations(&i);
        assert_eq!(a[TRAEFIK_ENTRYPOINTS_ANNOTATION], "websecure");
        assert_eq!(a[TRAEFIK_TLS_ANNOTATION], "true");
        assert_eq!(a[TRAEFIK_MIDDLEWARES_ANNOTATION], "oauth2-proxy@file");
        assert_eq!(a[CLUSTER_ISSUER_ANNOTATION], "letsencrypt-prod");
        assert!(a.keys().all(|k| !k.starts_with("nginx.")), "{a:?}");
        let s = i.spec.expect("a spec");
        assert_eq!(s.ingress_class_name.as_deref(), Some("traefik"));
        assert_eq!(s.tls.expect("tls")[0].secret_name.as_deref(), Some("kibana-logging-tls"));
        // A UI with its own login gets TLS but no middleware.
        let open = ui_ingress(&spec(false), &cx(IngressController::Traefik)).expect("builds");
        assert!(!annotations(&open).contains_key(TRAEFIK_MIDDLEWARES_ANNOTATION));
        assert_eq!(annotations(&open)[TRAEFIK_TLS_ANNOTATION], "true");
    }

    #[test]
    fn no_ui_without_login_on_either_controller() {
        for controller in [IngressController::Nginx, IngressController::Traefik] {
            let mut c = cx(controller);
            c.published.auth = None;
            let e = ui_ingress(&spec(true), &c).expect_err("refused");
            assert!(e.to_string().contains("oauth2_proxy"), "{e}");
        }
    }

    #[test]
    fn class_is_named_after_the_controller_unless_set() {
        let mut c = cx(IngressController::Traefik);
        assert_eq!(c.platform.ingress_class_name(), "traefik");
        c.platform.ingress_class = Some("edge".into());
        let i = ui_ingress(&spec(false), &c).expect("builds");
        assert_eq!(i.spec.and_then(|s| s.ingress_class_name).as_deref(), Some("edge"));
        assert_eq!(cx(IngressController::Nginx).platform.ingress_class_name(), "nginx");
    }
}

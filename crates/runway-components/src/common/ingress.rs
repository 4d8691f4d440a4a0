//! Ingresses for the runtime's UIs and endpoints: every one gets TLS from cert-manager
//! (the platform's ingress class, a `<name>-tls` Secret, the cluster issuer cert-manager
//! published) and, for a UI without its own login, oauth2-proxy authentication through
//! the chosen ingress controller (`platform.ingress_controller`): nginx's `auth-url` and
//! `auth-signin` annotations, or Traefik's forwardAuth middleware that the `traefik`
//! component defines ([`crate::traefik::AUTH_MIDDLEWARE_REF`]).
//!
//! What a backend needs beyond plain HTTP within the controller's defaults (it serves
//! HTTPS only, takes large uploads, answers with large headers) is stated once, as a
//! [`BackendNeeds`], and translated here for the chosen controller: nginx reads all of it
//! from annotations of the Ingress; Traefik reads the backend protocol from annotations of
//! the backend's *Service* ([`backend_service_annotations`]) and has no limits to raise
//! for the other two. Components never write controller-specific annotations themselves,
//! so switching the controller is one line.

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
/// Traefik, on a Service: the scheme Traefik uses to reach its endpoints (`https`).
pub const TRAEFIK_SERVERS_SCHEME_ANNOTATION: &str = "traefik.ingress.kubernetes.io/service.serversscheme";
/// Traefik, on a Service: the serversTransport (TLS settings towards the endpoints), as
/// `NAME@PROVIDER`.
pub const TRAEFIK_SERVERS_TRANSPORT_ANNOTATION: &str = "traefik.ingress.kubernetes.io/service.serverstransport";
/// nginx: the protocol nginx speaks to the backend (`HTTPS`).
pub const NGINX_BACKEND_PROTOCOL_ANNOTATION: &str = "nginx.ingress.kubernetes.io/backend-protocol";
/// nginx: the largest request body nginx passes on (`client_max_body_size`; its default is 1m).
pub const NGINX_PROXY_BODY_SIZE_ANNOTATION: &str = "nginx.ingress.kubernetes.io/proxy-body-size";
/// nginx: the buffer for the first part of the backend's response, its headers
/// (`proxy_buffer_size`; its default is one memory page, 4k or 8k).
pub const NGINX_PROXY_BUFFER_SIZE_ANNOTATION: &str = "nginx.ingress.kubernetes.io/proxy-buffer-size";

/// What a backend needs from the ingress controller beyond plain HTTP within the
/// controller's defaults, translated per controller by [`ui_ingress`] and
/// [`backend_service_annotations`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BackendNeeds {
    /// The backend serves HTTPS only, with a certificate the controller cannot verify
    /// (self-signed, made in the pod); the hop stays inside the cluster. nginx: the
    /// Ingress's `backend-protocol: HTTPS` (nginx does not verify backend certificates
    /// unless told to). Traefik: `serversscheme: https` and the serversTransport
    /// [`crate::traefik::SELF_SIGNED_TRANSPORT_REF`] (`insecureSkipVerify`) on the
    /// backend's Service. Default: false (plain HTTP).
    pub https_self_signed: bool,
    /// The largest request body the backend must receive, in MiB. nginx:
    /// `proxy-body-size` (its default is 1 MiB). Traefik: nothing, it limits request bodies
    /// only with a buffering middleware, which no runway router uses. Default: `None`
    /// (the controller's default).
    pub max_request_body_mib: Option<u32>,
    /// How large the backend's response headers get, in KiB (login responses with large
    /// cookies). nginx: `proxy-buffer-size` (its default of one page answers larger ones
    /// with 502 "upstream sent too big header"). Traefik: nothing, it proxies with Go's HTTP
    /// transport, which accepts response headers up to 10 MiB and has no fixed-size header
    /// buffer to raise. Default: `None` (the controller's default).
    pub response_headers_kib: Option<u32>,
}

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
    /// What the backend needs from the controller. Default: nothing beyond plain HTTP.
    pub backend: BackendNeeds,
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
            let backend = &spec.backend;
            if backend.https_self_signed {
                annotations.insert(NGINX_BACKEND_PROTOCOL_ANNOTATION.into(), "HTTPS".into());
            }
            if let Some(mib) = backend.max_request_body_mib {
                annotations.insert(NGINX_PROXY_BODY_SIZE_ANNOTATION.into(), format!("{mib}m"));
            }
            if let Some(kib) = backend.response_headers_kib {
                annotations.insert(NGINX_PROXY_BUFFER_SIZE_ANNOTATION.into(), format!("{kib}k"));
            }
        }
        (IngressController::Traefik, _) => {
            // HTTPS only on this router; plain HTTP is redirected by the traefik
            // component's catch-all router, which cert-manager's HTTP-01 solver outranks.
            annotations.insert(TRAEFIK_ENTRYPOINTS_ANNOTATION.into(), crate::traefik::HTTPS_ENTRYPOINT.into());
            annotations.insert(TRAEFIK_TLS_ANNOTATION.into(), "true".into());
            if spec.authenticated {
                annotations.insert(TRAEFIK_MIDDLEWARES_ANNOTATION.into(), crate::traefik::AUTH_MIDDLEWARE_REF.into());
            }
            // The backend's protocol goes on its Service (backend_service_annotations); a
            // large body or large response headers need nothing (see BackendNeeds).
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

/// The annotations the backend's Service needs for `backend` under the chosen controller:
/// Traefik reads the scheme and TLS settings towards a backend from its Service, nginx
/// from the Ingress (so none for nginx). The component that builds the Service adds them
/// when it renders the Ingress.
pub fn backend_service_annotations(backend: &BackendNeeds, cx: &Context) -> BTreeMap<String, String> {
    match cx.platform.ingress_controller {
        IngressController::Nginx => BTreeMap::new(),
        IngressController::Traefik if backend.https_self_signed => BTreeMap::from([
            (TRAEFIK_SERVERS_SCHEME_ANNOTATION.to_string(), "https".to_string()),
            (TRAEFIK_SERVERS_TRANSPORT_ANNOTATION.to_string(), crate::traefik::SELF_SIGNED_TRANSPORT_REF.to_string()),
        ]),
        IngressController::Traefik => BTreeMap::new(),
    }
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
            backend: BackendNeeds::default(),
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

    /// A backend that serves HTTPS with a self-signed certificate, takes 100 MiB bodies and
    /// answers with 128 KiB of headers.
    fn demanding() -> IngressSpecFor<'static> {
        IngressSpecFor {
            backend: BackendNeeds {
                https_self_signed: true,
                max_request_body_mib: Some(100),
                response_headers_kib: Some(128),
            },
            ..spec(false)
        }
    }

    #[test]
    fn nginx_reads_every_backend_need_from_the_ingress() {
        let c = cx(IngressController::Nginx);
        let a = annotations(&ui_ingress(&demanding(), &c).expect("builds"));
        assert_eq!(a[NGINX_BACKEND_PROTOCOL_ANNOTATION], "HTTPS");
        assert_eq!(a[NGINX_PROXY_BODY_SIZE_ANNOTATION], "100m");
        assert_eq!(a[NGINX_PROXY_BUFFER_SIZE_ANNOTATION], "128k");
        assert!(backend_service_annotations(&demanding().backend, &c).is_empty(), "nginx needs nothing on the Service");
        // A plain backend gets none of them.
        let plain = annotations(&ui_ingress(&spec(false), &c).expect("builds"));
        for k in
            [NGINX_BACKEND_PROTOCOL_ANNOTATION, NGINX_PROXY_BODY_SIZE_ANNOTATION, NGINX_PROXY_BUFFER_SIZE_ANNOTATION]
        {
            assert!(!plain.contains_key(k), "{k}");
        }
    }

    #[test]
    fn traefik_reads_the_backend_protocol_from_the_service_and_needs_no_limits_raised() {
        let c = cx(IngressController::Traefik);
        let a = annotations(&ui_ingress(&demanding(), &c).expect("builds"));
        assert!(a.keys().all(|k| !k.starts_with("nginx.")), "{a:?}");
        assert_eq!(a, annotations(&ui_ingress(&spec(false), &c).expect("builds")), "the Ingress is a plain one");
        let svc = backend_service_annotations(&demanding().backend, &c);
        assert_eq!(svc[TRAEFIK_SERVERS_SCHEME_ANNOTATION], "https");
        assert_eq!(svc[TRAEFIK_SERVERS_TRANSPORT_ANNOTATION], "self-signed-backend@file");
        assert_eq!(svc.len(), 2);
        assert!(backend_service_annotations(&BackendNeeds::default(), &c).is_empty());
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

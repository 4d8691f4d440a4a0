//! Keycloak: the OpenID Connect provider that oauth2-proxy logs users in with where the
//! platform has no cloud identity provider (`onprem`, as BKPR's generic platform). It
//! renders on any platform it is asked for.
//!
//! # What it renders
//!
//! Keycloak (the project's own image, Quarkus distribution) started with `start` — the
//! production mode — behind the ingress controller: TLS ends at the Ingress
//! `keycloak` (`https://<host_label>.<dns_zone>`, through cert-manager, without
//! oauth2-proxy in front: Keycloak is the login), Keycloak speaks plain HTTP to it and
//! trusts its `X-Forwarded-*` headers (`proxy-headers: xforwarded`), and its hostname is
//! fixed to the public URL so the tokens it issues name the right issuer. Health checks
//! and metrics are on the management port 9000 (`/health/started`, `/health/ready`,
//! `/health/live`, `/metrics`, scraped through the pod annotations).
//!
//! At its first start Keycloak imports the realm `BKPR` (parameter `realm`) from the
//! ConfigMap `keycloak-realm`, with one confidential client for oauth2-proxy whose only
//! redirect URI is `https://auth.<dns_zone>/oauth2/callback`, a `groups` claim (group
//! membership, for `oauth2_proxy.allowed_groups`) and an audience mapper. The client
//! secret is not in the ConfigMap: the realm file says `${KC_OAUTH2_PROXY_CLIENT_SECRET}`
//! and Keycloak fills it in from the environment, which reads the Secret. A realm that
//! exists is never imported again: later changes are made in the admin console.
//!
//! Its database is PostgreSQL, a StatefulSet `keycloak-postgresql` with its own volume
//! (`data-keycloak-postgresql-0`). BKPR ran Keycloak 8 on its embedded H2 file database
//! (with a `TODO: use a proper database`): a file database ties Keycloak to one pod and
//! one volume, is not supported by Keycloak in production, and is lost with its volume
//! without a dump an operator could take with ordinary tools. One PostgreSQL pod is the
//! honest size for a login service of one cluster; back it up with `pg_dump` (the
//! `postgres` image has it) like any other database.
//!
//! # Secrets
//!
//! The Secret `keycloak` holds `admin_password` (of the `admin_user` created in the
//! `master` realm at the first start), `client_secret` (oauth2-proxy's client secret, the
//! same value as oauth2-proxy's own `client_secret`) and `db_password` (PostgreSQL's
//! `keycloak` user). It is rendered when a secrets file (`--secrets-file`) has a
//! `keycloak:` block (`client_secret` may come from its `oauth2_proxy:` block instead, as
//! BKPR wired it), and is otherwise declared external: create it in the namespace first.
//!
//! # Wiring oauth2-proxy to it
//!
//! Keycloak publishes nothing; oauth2-proxy is told the issuer in its own parameters:
//!
//! ```yaml
//! oauth2_proxy:
//!   oidc_issuer_url: https://keycloak.example.com/realms/BKPR   # https://<host_label>.<dns_zone>/realms/<realm>
//! ```
//!
//! with `platform.oauth_provider: oidc` (onprem's), and oauth2-proxy's `client_id` equal
//! to Keycloak's (`client_id`, default `oauth2-proxy`). oauth2-proxy only lets in users
//! whose email is verified: create users in the realm with "Email verified" on.
//!
//! # Differences from BKPR
//!
//! Names and keys are BKPR's where the object still exists (`keycloak` ServiceAccount,
//! Secret, Service and Ingress; keys `serviceAccount`, `secret`, `svc`, `ingress`). With
//! its state in PostgreSQL, Keycloak itself is stateless: BKPR's StatefulSet `keycloak`
//! (key `sts`) with its H2 volume `data-keycloak-0` becomes the Deployment `keycloak`
//! (key `deploy`), and BKPR's startup script ConfigMap `keycloak-sh` is gone (`kc.sh`
//! takes everything from the environment). Keycloak 8 kept its paths under `/auth`;
//! Keycloak 26 has none, so the issuer changes from `https://id.<zone>/auth/realms/BKPR`
//! to `https://<host_label>.<zone>/realms/BKPR`. H2 data of Keycloak 8 cannot be read
//! by Keycloak 26: export the realm from the old install (`standalone.sh
//! -Dkeycloak.migration.action=export`) and import it into the new one, or start afresh
//! (the realm `BKPR` is recreated with its client; users are added again). Delete BKPR's
//! StatefulSet, ConfigMap `keycloak-sh` and PVC `data-keycloak-0` afterwards.
//!
//! # Security
//!
//! Every container runs as non-root with all capabilities dropped, RuntimeDefault seccomp
//! and no privilege escalation; PostgreSQL's root filesystem is read-only (its socket
//! directory and `/tmp` are emptyDirs). Keycloak's is read-only with `optimized: true`;
//! with the stock image Keycloak rebuilds itself at start for the PostgreSQL driver,
//! health and metrics and writes the result under `/opt/keycloak/lib`, so the root
//! filesystem stays writable and the pod template says so in `runway.dev/security-exception`.

mod params;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, EnvVar, ExecAction, Lifecycle, LifecycleHandler, PodSpec,
    PodTemplateSpec, Probe, Secret, Service, ServiceAccount, Volume,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::ByteString;
use runway_core::refs::ExternalRef;
use runway_core::{Error, Object};

pub use self::params::{
    given_secrets, KeycloakParams, PostgresqlParams, DEFAULT_IMAGE, DEFAULT_POSTGRESQL_IMAGE, SECRET_KEYS,
};
use crate::common::checksum::sha256_hex;
use crate::common::env::{self, field_env, value_env};
use crate::common::ingress::{ui_ingress, BackendNeeds, IngressSpecFor};
use crate::common::meta;
use crate::common::metrics::{MetricsEndpoint, Scrape};
use crate::common::pdb::{self, Budget};
use crate::common::pod::spread_over_nodes;
use crate::common::pod::{container_port as port, empty_dir};
use crate::common::pod::{container_security, pod_security, Resources, SECURITY_EXCEPTION_ANNOTATION};
use crate::common::pod::{mount, read_only_mount};
use crate::common::rbac;
use crate::common::service::{tcp_port, PodService, ServiceKind};
use crate::common::storage::ClaimTemplate;
use crate::component::{Component, ObjectDoc};
use crate::context::{Context, Published};

/// The name of the Deployment, its Service, ServiceAccount, Secret, PDB and Ingress (BKPR's).
pub const NAME: &str = "keycloak";
/// The ConfigMap with the realm to import.
pub const REALM_CONFIG_MAP: &str = "keycloak-realm";
/// The database's StatefulSet and its (headless) Service.
pub const POSTGRESQL_NAME: &str = "keycloak-postgresql";
/// The Service port the Ingress uses (BKPR's Service answered on 80).
pub const SERVICE_PORT: i32 = 80;
/// Keycloak's HTTP port (TLS ends at the ingress controller).
pub const HTTP_PORT: i32 = 8080;
/// Keycloak's management port: health checks and metrics.
pub const MANAGEMENT_PORT: i32 = 9000;
/// PostgreSQL's port.
pub const POSTGRESQL_PORT: i32 = 5432;
/// The PostgreSQL database and user Keycloak uses.
pub const DATABASE: &str = "keycloak";
/// Where oauth2-proxy's callback lives (oauth2_proxy's Ingress host label).
const AUTH_HOST_LABEL: &str = "auth";
/// The environment variable the realm file reads the client secret from.
const CLIENT_SECRET_ENV: &str = "KC_OAUTH2_PROXY_CLIENT_SECRET";
const REALM_KEY: &str = "realm.json";
const COMPONENT_LABEL: &str = "keycloak";
const KC_HOME: &str = "/opt/keycloak";
/// uid of the `keycloak` user of the image (its files belong to group 0).
const KC_UID: i64 = 1000;
/// uid and gid of `postgres` in the Debian-based official image.
const PG_UID: i64 = 999;
const PG_DATA_MOUNT: &str = "/var/lib/postgresql/data";

/// The Keycloak component.
pub struct Keycloak;

impl Component for Keycloak {
    const NAME: &'static str = "keycloak";
    const SUMMARY: &'static str =
        "Keycloak (OIDC provider for oauth2-proxy on onprem) with its PostgreSQL and the realm BKPR";
    const OBJECTS: &'static [ObjectDoc] = &[
        ObjectDoc { key: "serviceAccount", kind: "ServiceAccount", doc: "the pods' identity; no API token mounted" },
        ObjectDoc {
            key: "secret",
            kind: "Secret",
            doc: "admin_password, client_secret, db_password (only from `--secrets-file`; else external)",
        },
        ObjectDoc { key: "realm", kind: "ConfigMap", doc: "`keycloak-realm`: realm.json, imported at the first start" },
        ObjectDoc { key: "svc", kind: "Service", doc: "`keycloak`: port 80 to Keycloak's HTTP port" },
        ObjectDoc { key: "deploy", kind: "Deployment", doc: "Keycloak, `start` behind the ingress" },
        ObjectDoc {
            key: "podMonitor",
            kind: "PodMonitor",
            doc: "scrapes its `management` port (`platform.monitoring: operator` or `both`)",
        },
        ObjectDoc { key: "disruptionBudget", kind: "PodDisruptionBudget", doc: "one Keycloak pod down at a time" },
        ObjectDoc {
            key: "ingress",
            kind: "Ingress",
            doc: "`keycloak`: https://<host_label>.<dns_zone>, TLS, no oauth2-proxy",
        },
        ObjectDoc {
            key: "postgresql.svc",
            kind: "Service",
            doc: "`keycloak-postgresql`: headless, the database's address and the StatefulSet's serviceName",
        },
        ObjectDoc {
            key: "postgresql.sts",
            kind: "StatefulSet",
            doc: "`keycloak-postgresql`: one PostgreSQL pod and its volume",
        },
        ObjectDoc {
            key: "networkPolicy",
            kind: "NetworkPolicy",
            doc: "`keycloak`: to its database and its peers; from the ingress controller",
        },
        ObjectDoc {
            key: "postgresql.networkPolicy",
            kind: "NetworkPolicy",
            doc: "`keycloak-postgresql`: from Keycloak",
        },
    ];
    const DEFAULT_ENABLED: bool = false;
    type Params = KeycloakParams;

    /// oauth2-proxy logs in through this realm unless its own `oidc_issuer_url` is set.
    fn publish(p: &KeycloakParams, cx: &Context, published: &mut Published) {
        published.oidc_issuer = issuer_url(p, cx).ok();
    }

    fn externals(_: &KeycloakParams, cx: &Context) -> Vec<ExternalRef> {
        if cx.secrets_of(Self::NAME).is_some() {
            Vec::new()
        } else {
            vec![("Secret".to_string(), cx.namespace().to_string(), NAME.to_string())]
        }
    }

    fn network(_: &KeycloakParams, _: &Context) -> Vec<crate::network::Flows> {
        use crate::network::{tcp, Flows};
        vec![
            // Infinispan's JGroups cluster (7800, failure detection 57800) between replicas.
            Flows::new("deploy", "networkPolicy")
                .to_local(POSTGRESQL_NAME, POSTGRESQL_PORT)
                .to_peers(&[tcp(7800), tcp(57800)]),
            Flows::new("postgresql.sts", "postgresql.networkPolicy"),
        ]
    }

    fn waivers(_: &KeycloakParams, _: &Context) -> Vec<crate::waivers::Waiver> {
        use crate::waivers::{Check, Waiver};
        vec![
            Waiver::new("deploy", Check::HighUid, "the image's files under /opt/keycloak belong to uid 1000"),
            Waiver::new(
                "deploy",
                Check::ReadOnlyRootFilesystem,
                "kc.sh start augments the server (Quarkus build) under /opt/keycloak/lib and writes /opt/keycloak/data",
            ),
            Waiver::new(
                "deploy",
                Check::SecretsAsEnv,
                "Keycloak reads the database and bootstrap admin passwords from KC_* environment variables only",
            ),
            Waiver::new(
                "postgresql.sts",
                Check::HighUid,
                "the postgres image's data directory and socket directory belong to uid 999",
            ),
            Waiver::new(
                "postgresql.sts",
                Check::SecretsAsEnv,
                "the password reaches only the postgres entrypoint that initialises the database",
            ),
        ]
    }

    fn build(p: &KeycloakParams, cx: &Context) -> Result<Vec<Object>, Error> {
        p.validate()?;
        let ns = cx.namespace();
        let host = cx.host(&p.host_label, Self::NAME)?;
        let auth_host = cx.host(AUTH_HOST_LABEL, Self::NAME)?;
        let client_id = client_id(p, cx);
        let realm = realm_json(p, &client_id, &auth_host);
        let checksum = sha256_hex(&realm);
        let mut objects = vec![Object::new(Self::NAME, "serviceAccount", &service_account(ns))];
        if let Some(values) = given_secrets(cx.secrets_of(Self::NAME), cx.secrets_of("oauth2_proxy"))? {
            objects.push(Object::new(Self::NAME, "secret", &secret(&values, ns)));
        }
        let ingress = ui_ingress(
            &IngressSpecFor {
                name: NAME,
                sub: &p.host_label,
                service: NAME,
                port_name: "http",
                authenticated: false,
                component: Self::NAME,
                // Keycloak's login responses carry large cookies and headers; nginx's
                // default 4k/8k proxy buffer answers them with 502 ("upstream sent too big
                // header").
                backend: BackendNeeds { response_headers_kib: Some(128), ..BackendNeeds::default() },
            },
            cx,
        )?;
        objects.extend([
            Object::new(Self::NAME, "realm", &realm_config_map(ns, realm)),
            Object::new(Self::NAME, "svc", &service(ns)),
            Object::new(Self::NAME, "deploy", &deployment(p, cx, &host, &checksum)),
            Object::new(Self::NAME, "disruptionBudget", &disruption_budget(ns)),
            Object::new(Self::NAME, "ingress", &ingress),
            Object::new(Self::NAME, "postgresql.svc", &postgresql_service(ns)),
            Object::new(Self::NAME, "postgresql.sts", &postgresql_stateful_set(p, cx)),
        ]);
        objects.extend(scrape(ns).monitor(Self::NAME, "podMonitor", cx));
        Ok(objects)
    }
}

/// The issuer oauth2-proxy must be configured with: `https://<host>/realms/<realm>`.
pub fn issuer_url(p: &KeycloakParams, cx: &Context) -> Result<String, Error> {
    Ok(format!("https://{}/realms/{}", cx.host(&p.host_label, Keycloak::NAME)?, p.realm))
}

/// The client id: the parameter, else oauth2-proxy's from the secrets file, else `oauth2-proxy`.
fn client_id(p: &KeycloakParams, cx: &Context) -> String {
    p.client_id
        .clone()
        .or_else(|| {
            cx.secrets_of("oauth2_proxy")
                .and_then(|s| s.get("client_id"))
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        })
        .unwrap_or_else(|| "oauth2-proxy".to_string())
}

fn labels() -> BTreeMap<String, String> {
    meta::labels(NAME, COMPONENT_LABEL)
}

fn postgresql_labels() -> BTreeMap<String, String> {
    meta::labels(POSTGRESQL_NAME, COMPONENT_LABEL)
}

/// The realm file (a Keycloak `RealmRepresentation`), built as data so every value is
/// JSON-escaped. Keycloak fills the realm with its defaults (client scopes, roles, flows).
fn realm_json(p: &KeycloakParams, client_id: &str, auth_host: &str) -> String {
    let groups = serde_json::json!({
        "name": "groups",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-group-membership-mapper",
        "consentRequired": false,
        "config": {
            "claim.name": "groups",
            "full.path": "false",
            "id.token.claim": "true",
            "access.token.claim": "true",
            "userinfo.token.claim": "true",
        },
    });
    let audience = serde_json::json!({
        "name": "audience",
        "protocol": "openid-connect",
        "protocolMapper": "oidc-audience-mapper",
        "consentRequired": false,
        "config": {
            "included.client.audience": client_id,
            "id.token.claim": "false",
            "access.token.claim": "true",
        },
    });
    let client = serde_json::json!({
        "clientId": client_id,
        "name": "oauth2-proxy",
        "description": "oauth2-proxy in front of the runtime's UIs (rendered by runway)",
        "enabled": true,
        "protocol": "openid-connect",
        "publicClient": false,
        "clientAuthenticatorType": "client-secret",
        "secret": format!("${{{CLIENT_SECRET_ENV}}}"),
        "standardFlowEnabled": true,
        "implicitFlowEnabled": false,
        "directAccessGrantsEnabled": false,
        "serviceAccountsEnabled": false,
        "frontchannelLogout": true,
        "redirectUris": [format!("https://{auth_host}/oauth2/callback")],
        "webOrigins": [format!("https://{auth_host}")],
        "attributes": { "post.logout.redirect.uris": format!("https://{auth_host}/*") },
        "protocolMappers": [groups, audience],
    });
    let realm = serde_json::json!({
        "realm": p.realm,
        "enabled": true,
        "sslRequired": "external",
        "registrationAllowed": false,
        "loginWithEmailAllowed": true,
        "duplicateEmailsAllowed": false,
        "resetPasswordAllowed": false,
        "editUsernameAllowed": false,
        "bruteForceProtected": true,
        "accessTokenLifespan": 300,
        "ssoSessionIdleTimeout": 1800,
        "ssoSessionMaxLifespan": 36000,
        "clients": [client],
    });
    // Invariant: a `serde_json::Value` always serializes.
    let mut text = serde_json::to_string_pretty(&realm).expect("JSON values serialize");
    text.push('\n');
    text
}

fn service_account(ns: &str) -> ServiceAccount {
    rbac::service_account(meta::namespaced(NAME, ns, labels()), Some(false))
}

fn secret(values: &BTreeMap<String, String>, ns: &str) -> Secret {
    Secret {
        metadata: meta::namespaced(NAME, ns, labels()),
        type_: Some("Opaque".into()),
        data: Some(values.iter().map(|(k, v)| (k.clone(), ByteString(v.as_bytes().to_vec()))).collect()),
        ..Default::default()
    }
}

fn realm_config_map(ns: &str, realm: String) -> ConfigMap {
    ConfigMap {
        metadata: meta::namespaced(REALM_CONFIG_MAP, ns, labels()),
        data: Some(BTreeMap::from([(REALM_KEY.to_string(), realm)])),
        ..Default::default()
    }
}

fn service(ns: &str) -> Service {
    PodService {
        kind: ServiceKind::ClusterIp,
        selector: meta::selector_labels(NAME),
        ports: vec![tcp_port("http", SERVICE_PORT, "http")],
    }
    .build(meta::namespaced(NAME, ns, labels()))
}

fn disruption_budget(ns: &str) -> PodDisruptionBudget {
    pdb::disruption_budget(
        meta::namespaced(NAME, ns, labels()),
        Budget::MaxUnavailable(1),
        meta::selector(meta::selector_labels(NAME)),
    )
}

/// `name` from the key `key` of the Secret `keycloak`.
fn secret_env(name: &str, key: &str) -> EnvVar {
    env::secret_env(name, NAME, key)
}

fn http_probe(path: &str, period: i32, failures: i32) -> Probe {
    crate::common::probes::http(path, "management", period, 5, failures)
}

fn exec_probe(command: Vec<String>, period: i32, failures: i32) -> Probe {
    Probe {
        exec: Some(ExecAction { command: Some(command) }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

/// Small init containers.
fn small_resources() -> Resources {
    Resources::new("10m", "32Mi", None, "64Mi")
}

fn keycloak_container(p: &KeycloakParams, host: &str) -> Container {
    let mut args = vec!["start".to_string(), "--import-realm".to_string()];
    if p.optimized {
        args.push("--optimized".into());
    }
    let mut mounts = vec![read_only_mount("realm", &format!("{KC_HOME}/data/import"))];
    if p.optimized {
        // Temporary files and the transaction log live under data/.
        mounts.push(mount("kc-data", &format!("{KC_HOME}/data")));
        mounts.push(mount("tmp", "/tmp"));
    }
    Container {
        name: "keycloak".into(),
        image: Some(p.image.clone()),
        args: Some(args),
        env: Some(vec![
            field_env("POD_IP", "status.podIP"),
            value_env("KC_BOOTSTRAP_ADMIN_USERNAME", p.admin_user.clone()),
            secret_env("KC_BOOTSTRAP_ADMIN_PASSWORD", "admin_password"),
            value_env("KC_DB", "postgres"),
            value_env("KC_DB_URL_HOST", POSTGRESQL_NAME),
            value_env("KC_DB_URL_PORT", POSTGRESQL_PORT.to_string()),
            value_env("KC_DB_URL_DATABASE", DATABASE),
            value_env("KC_DB_USERNAME", DATABASE),
            secret_env("KC_DB_PASSWORD", "db_password"),
            value_env("KC_HOSTNAME", format!("https://{host}")),
            value_env("KC_PROXY_HEADERS", "xforwarded"),
            value_env("KC_HTTP_ENABLED", "true"),
            value_env("KC_HTTP_PORT", HTTP_PORT.to_string()),
            value_env("KC_HTTP_MANAGEMENT_PORT", MANAGEMENT_PORT.to_string()),
            value_env("KC_HEALTH_ENABLED", "true"),
            value_env("KC_METRICS_ENABLED", "true"),
            // Cluster members find each other through the database (Keycloak's default
            // `jdbc-ping`); they must talk over the pod network, whatever its range.
            value_env("JAVA_OPTS_APPEND", "-Djgroups.bind.address=$(POD_IP)"),
            secret_env(CLIENT_SECRET_ENV, "client_secret"),
        ]),
        ports: Some(vec![port("http", HTTP_PORT), port("management", MANAGEMENT_PORT)]),
        resources: Some(p.resources.to_k8s()),
        security_context: Some(container_security(p.optimized)),
        volume_mounts: Some(mounts),
        // A first start migrates the database and, with the stock image, rebuilds
        // Keycloak: give it five minutes before liveness counts.
        startup_probe: Some(http_probe("/health/started", 5, 60)),
        readiness_probe: Some(http_probe("/health/ready", 10, 3)),
        liveness_probe: Some(http_probe("/health/live", 10, 6)),
        ..Default::default()
    }
}

/// Waits until PostgreSQL accepts connections, so that Keycloak's first start does not
/// crash-loop while the database initializes.
fn wait_for_database(p: &KeycloakParams) -> Container {
    let script = format!(
        "until pg_isready -q -h {POSTGRESQL_NAME} -p {POSTGRESQL_PORT} -U {DATABASE} -d {DATABASE}; do \
         echo waiting for {POSTGRESQL_NAME}; sleep 2; done"
    );
    Container {
        name: "wait-for-database".into(),
        image: Some(p.postgresql.image.clone()),
        command: Some(vec!["sh".into(), "-c".into(), script]),
        resources: Some(small_resources().to_k8s()),
        security_context: Some(container_security(true)),
        ..Default::default()
    }
}

/// Keycloak's metrics, on its management port.
pub fn scrape(ns: &str) -> Scrape {
    Scrape::pods(
        COMPONENT_LABEL,
        NAME,
        ns,
        meta::selector_labels(NAME),
        MetricsEndpoint::new("management", MANAGEMENT_PORT),
    )
}

fn pod_annotations(p: &KeycloakParams, checksum: &str, cx: &Context) -> BTreeMap<String, String> {
    let mut a = scrape(cx.namespace()).annotations(cx);
    a.extend([
        ("checksum/config".to_string(), checksum.to_string()),
        ("kubectl.kubernetes.io/default-container".to_string(), "keycloak".to_string()),
    ]);
    if !p.optimized {
        a.insert(
            SECURITY_EXCEPTION_ANNOTATION.into(),
            "container `keycloak` has a writable root filesystem: the stock image rebuilds Keycloak at start \
             (PostgreSQL driver, health, metrics) into /opt/keycloak/lib; build an optimized image and set \
             `optimized: true` for a read-only one"
                .into(),
        );
    }
    a
}

fn deployment(p: &KeycloakParams, cx: &Context, host: &str, checksum: &str) -> Deployment {
    let ns = cx.namespace();
    let selector = meta::selector(meta::selector_labels(NAME));
    let mut volumes = vec![Volume {
        name: "realm".into(),
        config_map: Some(ConfigMapVolumeSource { name: REALM_CONFIG_MAP.into(), ..Default::default() }),
        ..Default::default()
    }];
    if p.optimized {
        volumes.extend([empty_dir("kc-data"), empty_dir("tmp")]);
    }
    let pod = PodSpec {
        service_account_name: Some(NAME.into()),
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(KC_UID, 0, KC_UID)),
        termination_grace_period_seconds: Some(60),
        affinity: Some(spread_over_nodes(&selector, 100)),
        init_containers: Some(vec![wait_for_database(p)]),
        containers: vec![keycloak_container(p, host)],
        volumes: Some(volumes),
        ..Default::default()
    };
    Deployment {
        metadata: meta::namespaced(NAME, ns, labels()),
        spec: Some(DeploymentSpec {
            // Validated to fit.
            replicas: Some(p.replicas as i32),
            selector,
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels()),
                    annotations: Some(pod_annotations(p, checksum, cx)),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Headless: the database's address (`keycloak-postgresql`, the pod's IP) and the
/// StatefulSet's `serviceName`.
fn postgresql_service(ns: &str) -> Service {
    PodService {
        kind: ServiceKind::Headless,
        selector: meta::selector_labels(POSTGRESQL_NAME),
        ports: vec![tcp_port("postgresql", POSTGRESQL_PORT, "postgresql")],
    }
    .build(meta::namespaced(POSTGRESQL_NAME, ns, postgresql_labels()))
}

fn pg_isready() -> Vec<String> {
    ["pg_isready", "-q", "-h", "127.0.0.1", "-p", &POSTGRESQL_PORT.to_string(), "-U", DATABASE, "-d", DATABASE]
        .map(String::from)
        .to_vec()
}

fn postgresql_container(p: &KeycloakParams) -> Container {
    Container {
        name: "postgresql".into(),
        image: Some(p.postgresql.image.clone()),
        env: Some(vec![
            value_env("POSTGRES_USER", DATABASE),
            value_env("POSTGRES_DB", DATABASE),
            secret_env("POSTGRES_PASSWORD", "db_password"),
            // A directory below the mount: the volume's root may hold `lost+found`,
            // which initdb refuses.
            value_env("PGDATA", format!("{PG_DATA_MOUNT}/pgdata")),
        ]),
        ports: Some(vec![port("postgresql", POSTGRESQL_PORT)]),
        resources: Some(p.postgresql.resources.to_k8s()),
        security_context: Some(container_security(true)),
        volume_mounts: Some(vec![
            mount("data", PG_DATA_MOUNT),
            mount("run", "/var/run/postgresql"),
            mount("tmp", "/tmp"),
        ]),
        startup_probe: Some(exec_probe(pg_isready(), 5, 60)),
        readiness_probe: Some(exec_probe(pg_isready(), 10, 3)),
        liveness_probe: Some(exec_probe(pg_isready(), 20, 6)),
        // Kubernetes stops with SIGTERM, PostgreSQL's "smart" shutdown, which waits for
        // Keycloak's pooled connections to close and is killed at the grace period's end
        // (crash recovery at the next start). A fast shutdown ends them and checkpoints.
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction {
                    command: Some(vec!["sh".into(), "-c".into(), "pg_ctl stop -D \"$PGDATA\" -m fast -w -t 50".into()]),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn postgresql_stateful_set(p: &KeycloakParams, cx: &Context) -> StatefulSet {
    let ns = cx.namespace();
    let pod = PodSpec {
        automount_service_account_token: Some(false),
        security_context: Some(pod_security(PG_UID, PG_UID, PG_UID)),
        termination_grace_period_seconds: Some(60),
        containers: vec![postgresql_container(p)],
        volumes: Some(vec![empty_dir("run"), empty_dir("tmp")]),
        ..Default::default()
    };
    StatefulSet {
        metadata: meta::namespaced(POSTGRESQL_NAME, ns, postgresql_labels()),
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            service_name: Some(POSTGRESQL_NAME.into()),
            selector: meta::selector(meta::selector_labels(POSTGRESQL_NAME)),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(postgresql_labels()),
                    annotations: Some(BTreeMap::from([(
                        "kubectl.kubernetes.io/default-container".to_string(),
                        "postgresql".to_string(),
                    )])),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            volume_claim_templates: Some(vec![ClaimTemplate {
                name: "data",
                size: &p.postgresql.storage,
                storage_class: cx.storage_class(),
                name_label: false,
            }
            .build()]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert_manager::CertManager;
    use crate::common::testing;
    use crate::common::testing::{find, path_of};
    use crate::oauth2_proxy::Oauth2Proxy;
    use crate::stack::Stack;

    fn cx() -> Context {
        let mut cx = Context::default();
        cx.config.dns_zone = Some("example.com".into());
        cx
    }

    fn with_secrets(cx: &mut Context, component: &str, pairs: &[(&str, &str)]) {
        cx.secrets.insert(component.into(), pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
    }

    fn build(p: &KeycloakParams) -> Vec<Object> {
        Keycloak::build(p, &cx()).unwrap_or_else(|e| panic!("builds: {e}"))
    }

    fn with(f: impl FnOnce(&mut KeycloakParams)) -> KeycloakParams {
        testing::with(f)
    }

    fn error_of(p: &KeycloakParams) -> Error {
        Keycloak::build(p, &cx()).expect_err("parameters are rejected")
    }

    fn env<'a>(container: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
        container["env"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no env `{name}`"))
    }

    fn realm_of(objects: &[Object]) -> serde_json::Value {
        let text = find(objects, "realm").value["data"]["realm.json"].as_str().expect("realm.json").to_string();
        serde_json::from_str(&text).expect("realm.json is JSON")
    }

    #[test]
    fn default_build_has_bkpr_names_and_keys() {
        let objects = build(&KeycloakParams::default());
        let got: Vec<(&str, &str, &str)> = objects.iter().map(|o| (o.key.as_str(), o.kind(), o.name())).collect();
        assert_eq!(
            got,
            [
                ("serviceAccount", "ServiceAccount", "keycloak"),
                ("realm", "ConfigMap", "keycloak-realm"),
                ("svc", "Service", "keycloak"),
                ("deploy", "Deployment", "keycloak"),
                ("disruptionBudget", "PodDisruptionBudget", "keycloak"),
                ("ingress", "Ingress", "keycloak"),
                ("postgresql.svc", "Service", "keycloak-postgresql"),
                ("postgresql.sts", "StatefulSet", "keycloak-postgresql"),
            ]
        );
        for o in &objects {
            assert_eq!(o.namespace(), "kubeprod", "{}", o.key);
            assert!(
                ["v1", "apps/v1", "policy/v1", "networking.k8s.io/v1"].contains(&o.api_version()),
                "{} uses {}",
                o.key,
                o.api_version()
            );
            assert_eq!(o.value["metadata"]["labels"]["app.kubernetes.io/component"], "keycloak", "{}", o.key);
        }
        let sts = &find(&objects, "postgresql.sts").value["spec"];
        assert_eq!(sts["serviceName"], "keycloak-postgresql");
        assert_eq!(sts["volumeClaimTemplates"][0]["metadata"]["name"], "data");
        assert_eq!(sts["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"], "8Gi");
        assert_eq!(find(&objects, "postgresql.svc").value["spec"]["clusterIP"], "None");
    }

    #[test]
    fn keycloak_starts_in_production_mode_behind_the_ingress() {
        let objects = build(&KeycloakParams::default());
        let pod = &find(&objects, "deploy").value["spec"]["template"]["spec"];
        let kc = &pod["containers"][0];
        assert_eq!(kc["image"], DEFAULT_IMAGE);
        assert_eq!(kc["args"], serde_json::json!(["start", "--import-realm"]));
        assert_eq!(env(kc, "KC_HOSTNAME")["value"], "https://keycloak.example.com");
        assert_eq!(env(kc, "KC_PROXY_HEADERS")["value"], "xforwarded");
        assert_eq!(env(kc, "KC_HTTP_ENABLED")["value"], "true");
        assert_eq!(env(kc, "KC_DB")["value"], "postgres");
        assert_eq!(env(kc, "KC_DB_URL_HOST")["value"], POSTGRESQL_NAME);
        assert_eq!(env(kc, "KC_HEALTH_ENABLED")["value"], "true");
        assert_eq!(env(kc, "KC_BOOTSTRAP_ADMIN_USERNAME")["value"], "admin");
        for (var, key) in [
            ("KC_BOOTSTRAP_ADMIN_PASSWORD", "admin_password"),
            ("KC_DB_PASSWORD", "db_password"),
            (CLIENT_SECRET_ENV, "client_secret"),
        ] {
            let r = &env(kc, var)["valueFrom"]["secretKeyRef"];
            assert_eq!(r["name"], "keycloak", "{var}");
            assert_eq!(r["key"], key, "{var}");
        }
        for (probe, path) in [
            ("startupProbe", "/health/started"),
            ("readinessProbe", "/health/ready"),
            ("livenessProbe", "/health/live"),
        ] {
            assert_eq!(kc[probe]["httpGet"]["path"], path, "{probe}");
            assert_eq!(kc[probe]["httpGet"]["port"], "management", "{probe}");
        }
        let ports: Vec<(&str, i64)> = kc["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (p["name"].as_str().unwrap_or(""), p["containerPort"].as_i64().unwrap_or(0)))
            .collect();
        assert_eq!(ports, [("http", 8080), ("management", 9000)]);
        let mounts = &kc["volumeMounts"][0];
        assert_eq!(mounts["mountPath"], "/opt/keycloak/data/import");
        assert_eq!(pod["volumes"][0]["configMap"]["name"], REALM_CONFIG_MAP);
        assert_eq!(pod["initContainers"][0]["name"], "wait-for-database");
        let annotations = &find(&objects, "deploy").value["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(annotations["prometheus.io/scrape"], "true");
        assert_eq!(annotations["prometheus.io/port"], "9000");
        assert_eq!(annotations["prometheus.io/path"], "/metrics");
        assert_eq!(annotations["checksum/config"].as_str().map(str::len), Some(64));
    }

    #[test]
    fn stock_image_says_why_its_root_filesystem_is_writable() {
        let objects = build(&KeycloakParams::default());
        let tpl = &find(&objects, "deploy").value["spec"]["template"];
        assert_eq!(tpl["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"], false);
        let why = tpl["metadata"]["annotations"][SECURITY_EXCEPTION_ANNOTATION].as_str().unwrap_or("");
        assert!(why.contains("/opt/keycloak/lib") && why.contains("optimized"), "{why}");

        let objects = build(&with(|p| p.optimized = true));
        let tpl = &find(&objects, "deploy").value["spec"]["template"];
        let kc = &tpl["spec"]["containers"][0];
        assert_eq!(kc["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(kc["args"], serde_json::json!(["start", "--import-realm", "--optimized"]));
        assert!(tpl["metadata"]["annotations"].get(SECURITY_EXCEPTION_ANNOTATION).is_none());
        let paths: Vec<&str> =
            kc["volumeMounts"].as_array().into_iter().flatten().filter_map(|m| m["mountPath"].as_str()).collect();
        assert_eq!(paths, ["/opt/keycloak/data/import", "/opt/keycloak/data", "/tmp"]);
    }

    #[test]
    fn every_container_has_requests_and_limits_and_runs_locked_down() {
        let objects = build(&with(|p| p.optimized = true));
        for key in ["deploy", "postgresql.sts"] {
            let pod = &find(&objects, key).value["spec"]["template"]["spec"];
            assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{key}");
            assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault", "{key}");
            assert_eq!(pod["automountServiceAccountToken"], false, "{key}");
            let all = pod["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(pod["initContainers"].as_array().into_iter().flatten());
            for c in all {
                let name = &c["name"];
                assert!(c["resources"]["requests"]["memory"].is_string(), "{key}/{name}");
                assert!(c["resources"]["limits"]["memory"].is_string(), "{key}/{name}");
                assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true, "{key}/{name}");
                assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false, "{key}/{name}");
                assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_json::json!(["ALL"]), "{key}/{name}");
            }
        }
    }

    #[test]
    fn realm_creates_the_oauth2_proxy_client_without_its_secret() {
        let objects = build(&KeycloakParams::default());
        let realm = realm_of(&objects);
        assert_eq!(realm["realm"], "BKPR");
        assert_eq!(realm["enabled"], true);
        let client = &realm["clients"][0];
        assert_eq!(client["clientId"], "oauth2-proxy");
        assert_eq!(client["publicClient"], false);
        assert_eq!(client["redirectUris"], serde_json::json!(["https://auth.example.com/oauth2/callback"]));
        // Keycloak replaces the placeholder from its environment (the Secret).
        assert_eq!(client["secret"], "${KC_OAUTH2_PROXY_CLIENT_SECRET}");
        let mappers: Vec<&str> = client["protocolMappers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["protocolMapper"].as_str())
            .collect();
        assert_eq!(mappers, ["oidc-group-membership-mapper", "oidc-audience-mapper"]);
        assert_eq!(client["protocolMappers"][1]["config"]["included.client.audience"], "oauth2-proxy");
    }

    #[test]
    fn realm_and_client_follow_parameters_and_oauth2_proxy_secrets() {
        let mut cx = cx();
        with_secrets(&mut cx, "oauth2_proxy", &[("client_id", "runway-ui"), ("client_secret", "s3cret")]);
        let p = with(|p| p.realm = "ops".into());
        let objects = Keycloak::build(&p, &cx).expect("builds");
        let realm = realm_of(&objects);
        assert_eq!(realm["realm"], "ops");
        assert_eq!(realm["clients"][0]["clientId"], "runway-ui");
        let text = find(&objects, "realm").value["data"]["realm.json"].as_str().unwrap_or("").to_string();
        assert!(!text.contains("s3cret"), "no secret in a ConfigMap");

        let objects = Keycloak::build(&with(|p| p.client_id = Some("explicit".into())), &cx).expect("builds");
        assert_eq!(realm_of(&objects)["clients"][0]["clientId"], "explicit");
    }

    #[test]
    fn realm_change_rolls_the_pods() {
        let sum = |p: &KeycloakParams| {
            let objects = build(p);
            let v = &find(&objects, "deploy").value["spec"]["template"]["metadata"]["annotations"]["checksum/config"];
            v.as_str().unwrap_or("").to_string()
        };
        let base = sum(&KeycloakParams::default());
        assert_eq!(base, sum(&KeycloakParams::default()));
        assert_ne!(base, sum(&with(|p| p.realm = "other".into())));
        assert_eq!(base, sum(&with(|p| p.replicas = 3)));
    }

    #[test]
    fn secret_is_rendered_from_the_secrets_file_or_external() {
        let p = KeycloakParams::default();
        // Not given: the Secret is the user's.
        let objects = build(&p);
        assert!(objects.iter().all(|o| o.kind() != "Secret"));
        assert_eq!(
            Keycloak::externals(&p, &cx()),
            [("Secret".to_string(), "kubeprod".to_string(), "keycloak".to_string())]
        );

        // Given, with the client secret taken from oauth2-proxy's block.
        let mut cx = cx();
        with_secrets(&mut cx, "keycloak", &[("admin_password", "a"), ("db_password", "d")]);
        with_secrets(&mut cx, "oauth2_proxy", &[("client_id", "oauth2-proxy"), ("client_secret", "c")]);
        let objects = Keycloak::build(&p, &cx).expect("builds");
        let data = &find(&objects, "secret").value["data"];
        let keys: Vec<&String> = data.as_object().map(|m| m.keys().collect()).unwrap_or_default();
        assert_eq!(keys, ["admin_password", "client_secret", "db_password"]);
        assert!(Keycloak::externals(&p, &cx).is_empty());

        // Keycloak's own client_secret wins.
        with_secrets(&mut cx, "keycloak", &[("admin_password", "a"), ("db_password", "d"), ("client_secret", "own")]);
        let given = given_secrets(cx.secrets_of("keycloak"), cx.secrets_of("oauth2_proxy")).expect("valid");
        assert_eq!(given.and_then(|g| g.get("client_secret").cloned()).as_deref(), Some("own"));
    }

    #[test]
    fn missing_or_unknown_secret_keys_are_errors_that_name_no_value() {
        let mut cx = cx();
        with_secrets(&mut cx, "keycloak", &[("admin_password", "topsecret"), ("db_password", "d")]);
        let e = Keycloak::build(&KeycloakParams::default(), &cx).expect_err("client_secret is missing");
        assert!(e.to_string().contains("`keycloak.client_secret` is missing"), "{e}");
        assert!(!e.to_string().contains("topsecret"));

        with_secrets(&mut cx, "keycloak", &[("admin_pasword", "x"), ("db_password", "d"), ("client_secret", "c")]);
        let e = Keycloak::build(&KeycloakParams::default(), &cx).expect_err("unknown key");
        assert!(e.to_string().contains("`keycloak.admin_pasword`"), "{e}");
        assert!(e.helps().iter().any(|h| h.contains("admin_password")), "{:?}", e.helps());
    }

    #[test]
    fn bad_parameters_are_errors_with_their_path() {
        for (p, path) in [
            (with(|p| p.replicas = 0), "keycloak.replicas"),
            (with(|p| p.realm = "master".into()), "keycloak.realm"),
            (with(|p| p.realm = "my realm".into()), "keycloak.realm"),
            (with(|p| p.host_label = "Key_Cloak".into()), "keycloak.host_label"),
            (with(|p| p.client_id = Some("a b".into())), "keycloak.client_id"),
            (with(|p| p.admin_user = String::new()), "keycloak.admin_user"),
            (with(|p| p.image = " ".into()), "keycloak.image"),
            (with(|p| p.postgresql.image = String::new()), "keycloak.postgresql.image"),
            (with(|p| p.postgresql.storage = "0".into()), "keycloak.postgresql.storage"),
            (with(|p| p.resources = Resources::new("1", "4Gi", None, "2Gi")), "keycloak.resources"),
            (
                with(|p| p.postgresql.resources = Resources::new("1", "4Gi", None, "2Gi")),
                "keycloak.postgresql.resources",
            ),
        ] {
            let e = error_of(&p);
            assert_eq!(path_of(&e), path, "{e}");
            assert!(!e.helps().is_empty(), "{path} has a help line");
        }
    }

    #[test]
    fn without_a_dns_zone_the_error_names_config_dns_zone() {
        let e = Keycloak::build(&KeycloakParams::default(), &Context::default()).expect_err("needs a zone");
        assert_eq!(path_of(&e), "config.dns_zone");
    }

    #[test]
    fn issuer_url_is_host_and_realm() {
        assert_eq!(
            issuer_url(&KeycloakParams::default(), &cx()).expect("zone set"),
            "https://keycloak.example.com/realms/BKPR"
        );
        let p = with(|p| {
            p.host_label = "id".into();
            p.realm = "ops".into();
        });
        assert_eq!(issuer_url(&p, &cx()).expect("zone set"), "https://id.example.com/realms/ops");
        let objects = build(&p);
        assert_eq!(find(&objects, "ingress").value["spec"]["rules"][0]["host"], "id.example.com");
    }

    #[test]
    fn ingress_has_tls_no_oauth2_proxy_and_large_buffers() {
        let mut cx = cx();
        cx.published.tls_issuer = Some("letsencrypt-prod".into());
        let objects = Keycloak::build(&KeycloakParams::default(), &cx).expect("builds");
        let ing = &find(&objects, "ingress").value;
        let a = &ing["metadata"]["annotations"];
        assert_eq!(a["cert-manager.io/cluster-issuer"], "letsencrypt-prod");
        assert!(a.get("nginx.ingress.kubernetes.io/auth-url").is_none(), "Keycloak is the login");
        assert_eq!(a["nginx.ingress.kubernetes.io/proxy-buffer-size"], "128k");
        assert_eq!(ing["spec"]["tls"][0]["hosts"][0], "keycloak.example.com");
        assert_eq!(ing["spec"]["tls"][0]["secretName"], "keycloak-tls");
        let backend = &ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
        assert_eq!(backend["name"], "keycloak");
        assert_eq!(backend["port"]["name"], "http");
        // Traefik has no header buffer to raise: no nginx annotation under it.
        cx.platform.ingress_controller = crate::context::IngressController::Traefik;
        let objects = Keycloak::build(&KeycloakParams::default(), &cx).expect("builds");
        let a = find(&objects, "ingress").value["metadata"]["annotations"].clone();
        let a = a.as_object().expect("annotations");
        assert!(a.keys().all(|k| !k.starts_with("nginx.")), "{a:?}");
        assert_eq!(a["traefik.ingress.kubernetes.io/router.tls"], "true");
    }

    #[test]
    fn postgresql_runs_with_its_volume_and_stops_fast() {
        let mut cx = cx();
        cx.platform.storage_class = Some("local-path".into());
        let objects = Keycloak::build(&KeycloakParams::default(), &cx).expect("builds");
        let sts = &find(&objects, "postgresql.sts").value["spec"];
        assert_eq!(sts["volumeClaimTemplates"][0]["spec"]["storageClassName"], "local-path");
        let pg = &sts["template"]["spec"]["containers"][0];
        assert_eq!(pg["image"], DEFAULT_POSTGRESQL_IMAGE);
        assert_eq!(env(pg, "PGDATA")["value"], "/var/lib/postgresql/data/pgdata");
        assert_eq!(env(pg, "POSTGRES_PASSWORD")["valueFrom"]["secretKeyRef"]["key"], "db_password");
        assert_eq!(pg["readinessProbe"]["exec"]["command"][0], "pg_isready");
        let stop = pg["lifecycle"]["preStop"]["exec"]["command"][2].as_str().unwrap_or("");
        assert!(stop.contains("-m fast"), "{stop}");
        assert_eq!(sts["template"]["spec"]["securityContext"]["runAsUser"], 999);
    }

    #[test]
    fn every_object_round_trips() {
        for optimized in [false, true] {
            let mut cx = cx();
            with_secrets(&mut cx, "keycloak", &[("admin_password", "a"), ("db_password", "d"), ("client_secret", "c")]);
            for mut o in Keycloak::build(&with(|p| p.optimized = optimized), &cx).expect("builds") {
                let before = o.value.clone();
                o.check_round_trip().unwrap_or_else(|e| panic!("{}: {e}", o.key));
                assert_eq!(before, o.value, "{} changed in the round trip", o.key);
            }
        }
    }

    #[test]
    fn service_selectors_match_the_pod_templates() {
        let objects = build(&KeycloakParams::default());
        for (svc, workload) in [("svc", "deploy"), ("postgresql.svc", "postgresql.sts")] {
            let labels = &find(&objects, workload).value["spec"]["template"]["metadata"]["labels"];
            let selector = find(&objects, svc).value["spec"]["selector"].as_object().cloned().unwrap_or_default();
            assert!(!selector.is_empty() && selector.iter().all(|(k, v)| &labels[k] == v), "{svc}");
            let matched = find(&objects, workload).value["spec"]["selector"]["matchLabels"].clone();
            assert_eq!(serde_json::Value::Object(selector), matched, "{svc}");
        }
        // The database's Service does not select Keycloak's pods, nor the other way round.
        let kc = &find(&objects, "deploy").value["spec"]["template"]["metadata"]["labels"];
        assert_ne!(kc["name"], find(&objects, "postgresql.svc").value["spec"]["selector"]["name"]);
        let pdb = &find(&objects, "disruptionBudget").value["spec"];
        assert_eq!(pdb["selector"]["matchLabels"]["name"], "keycloak");
        assert_eq!(pdb["maxUnavailable"], 1);
    }

    #[test]
    fn defaults_serialize_and_read_back() {
        let json = serde_json::to_value(KeycloakParams::default()).expect("serializes");
        assert_eq!(json["realm"], "BKPR");
        assert_eq!(json["postgresql"]["storage"], "8Gi");
        let back: KeycloakParams = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, KeycloakParams::default());
        assert!(serde_json::from_value::<KeycloakParams>(serde_json::json!({"relm": "x"})).is_err());
    }

    #[test]
    fn renders_on_onprem_with_oauth2_proxy_pointed_at_its_issuer() {
        let mut s = Stack::new();
        s.platform("onprem", "test").expect("onprem exists");
        s.set("config.dns_zone=example.com", false).expect("a valid --set");
        s.set("platform.components.keycloak=true", false).expect("opt in");
        s.set("config.contact_email=ops@example.com", false).expect("a valid --set");
        s.set("oauth2_proxy.oidc_issuer_url=https://keycloak.example.com/realms/BKPR", false).expect("a valid --set");
        s.secrets(
            "secrets.yaml",
            "keycloak: {admin_password: a, db_password: d}\n\
             oauth2_proxy: {client_id: oauth2-proxy, client_secret: c, cookie_secret: 0123456789abcdef0123456789abcdef}\n",
        )
        .expect("a valid secrets file");
        let rendered = s.render(&[&CertManager, &Oauth2Proxy, &Keycloak]).unwrap_or_else(|e| panic!("{}", e.render()));
        let mine: Vec<(&str, &str)> = rendered
            .objects
            .iter()
            .filter(|o| o.component == "keycloak" && o.kind() != "NetworkPolicy")
            .map(|o| (o.kind(), o.name()))
            .collect();
        assert_eq!(mine.len(), 9, "{mine:?}");
        let args = rendered
            .objects
            .iter()
            .find(|o| o.component == "oauth2_proxy" && o.kind() == "Deployment")
            .map(|o| o.value["spec"]["template"]["spec"]["containers"][0]["args"].to_string())
            .unwrap_or_default();
        assert!(args.contains("--oidc-issuer-url=https://keycloak.example.com/realms/BKPR"), "{args}");
        let ingress =
            rendered.objects.iter().find(|o| o.component == "keycloak" && o.kind() == "Ingress").expect("ingress");
        assert!(ingress.value["metadata"]["annotations"]["cert-manager.io/cluster-issuer"].is_string());
        let realm = rendered.objects.iter().find(|o| o.name() == REALM_CONFIG_MAP).expect("realm");
        let text = realm.value["data"]["realm.json"].as_str().unwrap_or("");
        assert!(text.contains("https://auth.example.com/oauth2/callback"), "{text}");
    }

    #[test]
    fn renders_alone_on_every_platform_with_an_external_secret() {
        for platform in ["gke", "eks", "aks", "onprem"] {
            let mut s = Stack::new();
            s.platform(platform, "test").expect("platform exists");
            s.set("config.dns_zone=example.com", false).expect("a valid --set");
            s.set("platform.components.keycloak=true", false).expect("opt in");
            let rendered = s.render(&[&Keycloak]).unwrap_or_else(|e| panic!("{platform}: {}", e.render()));
            assert!(rendered.objects.iter().any(|o| o.kind() == "Deployment" && o.name() == "keycloak"), "{platform}");
            assert!(rendered.objects.iter().all(|o| o.kind() != "Secret"), "{platform}");
        }
    }
}

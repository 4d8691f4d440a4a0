//! Environment variables of containers: literal values, Secret keys and pod fields.

use k8s_openapi::api::core::v1::{ConfigMapKeySelector, EnvVar, EnvVarSource, ObjectFieldSelector, SecretKeySelector};

/// `name` set to the literal `value`.
pub fn value_env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar { name: name.into(), value: Some(value.into()), ..Default::default() }
}

/// `name` from the key `key` of the ConfigMap `config_map`; the pod does not start without it.
pub fn config_map_env(name: &str, config_map: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector { name: config_map.into(), key: key.into(), optional: None }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `name` from the key `key` of the Secret `secret`; the pod does not start without it.
pub fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector { name: secret.into(), key: key.into(), optional: None }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `name` from the pod's field `path` (downward API, `v1`), e.g. `status.podIP`.
pub fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { api_version: Some("v1".into()), field_path: path.into() }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_env_is_required_and_names_secret_and_key() {
        let e = secret_env("PASSWORD", "db", "password");
        let r = e.value_from.and_then(|v| v.secret_key_ref).expect("a Secret reference");
        assert_eq!((r.name.as_str(), r.key.as_str(), r.optional), ("db", "password", None));
        assert_eq!(e.value, None);
    }

    #[test]
    fn field_env_reads_the_v1_downward_api() {
        let f = field_env("POD_IP", "status.podIP").value_from.and_then(|v| v.field_ref).expect("a field reference");
        assert_eq!((f.api_version.as_deref(), f.field_path.as_str()), (Some("v1"), "status.podIP"));
        assert_eq!(value_env("A", "1").value.as_deref(), Some("1"));
    }
}

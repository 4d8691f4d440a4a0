//! The platform bases embedded in the binary: each a small delta over the component and
//! platform defaults (BKPR's aks/eks/gke files were 80% copies of each other; these are not).

/// `(name, file name, text)` of every embedded platform.
pub const PLATFORMS: &[(&str, &str, &str)] = &[
    ("aks", "platforms/aks.yaml", include_str!("../../../platforms/aks.yaml")),
    ("eks", "platforms/eks.yaml", include_str!("../../../platforms/eks.yaml")),
    ("gke", "platforms/gke.yaml", include_str!("../../../platforms/gke.yaml")),
    ("kind", "platforms/kind.yaml", include_str!("../../../platforms/kind.yaml")),
    ("onprem", "platforms/onprem.yaml", include_str!("../../../platforms/onprem.yaml")),
];

/// The names of the embedded platforms.
pub fn names() -> impl Iterator<Item = &'static str> {
    PLATFORMS.iter().map(|(n, _, _)| *n)
}

/// The file name and text of an embedded platform.
pub fn get(name: &str) -> Option<(&'static str, &'static str)> {
    PLATFORMS.iter().find(|(n, _, _)| *n == name).map(|(_, f, t)| (*f, *t))
}

//! Benchmarks of a full render in process: the GKE example stack (the whole BKPR runtime,
//! 124 objects, ~1.1 MB of YAML with cert-manager's CRDs) read from its files, rendered
//! and written as YAML; the same for the Sysdig backend on EKS; the YAML writer alone,
//! the hot spot; and the whole-render checks alone (references, ports, probes, sizes,
//! quantities, selectors, CRD schemas), which every render runs; and a fleet of 100 GKE
//! clusters (each with its own DNS zone) rendered and written to files, in process, as
//! `runway fleet` does (scripts/bench-fleet.py times 1,000 as whole processes).
//!
//!     cargo bench -p runway-cli --bench render

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use runway_components::{files, Stack, ALL};

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn stack(platform: Option<&str>, file: &str) -> Stack {
    let mut s = Stack::new();
    if let Some(p) = platform {
        s.platform(p, "bench").expect("embedded platform");
    }
    files::load_stack_file(&mut s, &root().join(file)).expect("example stack loads");
    s
}

fn bench(c: &mut Criterion) {
    c.bench_function("render_gke_runtime_to_yaml", |b| {
        b.iter(|| {
            let out = stack(None, "examples/gke/stack.yaml").render(ALL).expect("renders");
            std::hint::black_box(out.to_yaml())
        })
    });
    c.bench_function("render_eks_sysdig_backend_to_yaml", |b| {
        b.iter(|| {
            let out = stack(Some("eks"), "examples/sdc/stack.yaml").render(ALL).expect("renders");
            std::hint::black_box(out.to_yaml())
        })
    });
    let rendered = stack(None, "examples/gke/stack.yaml").render(ALL).expect("renders");
    c.bench_function("emit_yaml_gke_runtime", |b| b.iter(|| std::hint::black_box(rendered.to_yaml())));
    let classes: Vec<String> = ["standard-rwo", "standard", "premium-rwo"].map(String::from).to_vec();
    c.bench_function("validate_gke_runtime", |b| {
        b.iter(|| {
            // As a render does: the CRD schemas are gathered and compiled afresh each time.
            let crds = runway_core::validate::crd::CrdSchemas::from_objects(&rendered.objects);
            let facts =
                runway_core::validate::Facts { externals: &rendered.externals, storage_classes: &classes, crds: &crds };
            runway_core::validate::check_render(&rendered.objects, &facts).expect("the example passes");
        })
    });
}

fn bench_fleet(c: &mut Criterion) {
    // In memory where the machine has it (/dev/shm), to time runway and not the disk.
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.expect("a temporary folder");
    let stack = root().join("examples/gke/stack.yaml");
    let mut text = String::from("clusters:\n");
    for i in 0..100 {
        text.push_str(&format!(
            "  - name: c{i:03}\n    stack: {}\n    set: [\"config.dns_zone=c{i:03}.example.com\"]\n",
            stack.display()
        ));
    }
    let fleet_file = dir.path().join("fleet.yaml");
    std::fs::write(&fleet_file, text).expect("the fleet file is written");
    let fleet = runway_components::fleet::Fleet::load(&fleet_file).expect("the fleet loads");
    let out = dir.path().join("out");
    let opts = runway_components::fleet::FleetOptions::default();
    let mut group = c.benchmark_group("fleet");
    group.sample_size(10);
    group.bench_function("fleet_100_gke_clusters_to_files", |b| {
        b.iter(|| fleet.render_to(&out, &opts, &|_| {}).expect("the fleet renders"))
    });
    group.finish();
}

criterion_group!(benches, bench, bench_fleet);
criterion_main!(benches);

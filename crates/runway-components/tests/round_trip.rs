//! Every object of every example stack reads back into its k8s-openapi type unchanged.
//!
//! The render pipeline round-trips only objects that a layer patched: the others were
//! serialized from their k8s-openapi type a moment before, which this test proves is a
//! fixed point, so the pipeline need not pay for it on every render.

use std::path::Path;

use runway_components::{files, Stack, ALL};

#[test]
fn every_built_object_is_already_what_its_type_serializes_to() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for platform in ["aks", "eks", "gke", "kind", "onprem"] {
        let mut stack = Stack::new();
        files::load_stack_file(&mut stack, &root.join(format!("examples/{platform}/stack.yaml")))
            .unwrap_or_else(|e| panic!("{platform}: {}", e.render(&stack.sources)));
        let out = stack.render(ALL).unwrap_or_else(|e| panic!("{platform}: {}", e.render()));
        assert!(out.objects.len() > 50, "{platform}: {} objects", out.objects.len());
        for obj in &out.objects {
            let mut again = obj.clone();
            again.check_round_trip().unwrap_or_else(|e| panic!("{platform}: {}.{}: {e}", obj.component, obj.key));
            assert_eq!(again.value, obj.value, "{platform}: {}.{} changes when read back", obj.component, obj.key);
        }
    }
}

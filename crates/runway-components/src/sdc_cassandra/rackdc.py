"""Writes cassandra-rackdc.properties for GossipingPropertyFileSnitch.

Run by the `rackdc` init container of runway's `sdc_cassandra` (not a template: every
input comes from the environment). The datacenter is $DATACENTER; the rack is the zone of
the Kubernetes node the pod runs on: its $ZONE_LABEL label, read through the API, because
the downward API does not show node labels to pods. A node without the label gets
$DEFAULT_RACK.

A node's datacenter and rack are part of its identity: Cassandra refuses to start when
they change. So the first start saves them on the data volume ($SAVED_FILE), and later
starts reuse the saved pair even when the pod now runs in another zone (a volume that can
follow the pod across zones) or the parameters changed; the difference is logged.
"""

import json
import os
import re
import ssl
import sys
import time
import urllib.request

# The projected service account token, mounted into this container only.
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
ATTEMPTS = 6


def log(msg):
    print("rackdc: " + msg, file=sys.stderr, flush=True)


def read_saved(path):
    """The (dc, rack) pair saved at the first start, or None."""
    if not os.path.exists(path):
        return None
    props = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                props[key.strip()] = value.strip()
    if props.get("dc") and props.get("rack"):
        return props["dc"], props["rack"]
    log("ignoring %s: it names no dc and rack" % path)
    return None


def node_labels(node):
    with open(SA_DIR + "/token") as f:
        token = f.read().strip()
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    if ":" in host:
        host = "[" + host + "]"
    url = "https://%s:%s/api/v1/nodes/%s" % (host, os.environ["KUBERNETES_SERVICE_PORT"], node)
    context = ssl.create_default_context(cafile=SA_DIR + "/ca.crt")
    request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token, "Accept": "application/json"})
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        return json.load(response).get("metadata", {}).get("labels") or {}


def write(path, dc, rack):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write("# written by the rackdc init container of sdc-cassandra\ndc=%s\nrack=%s\n" % (dc, rack))
    os.replace(tmp, path)


def main():
    node = os.environ["NODE_NAME"]
    label = os.environ["ZONE_LABEL"]
    saved_file = os.environ["SAVED_FILE"]
    saved = read_saved(saved_file)

    labels = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            labels = node_labels(node)
            break
        except Exception as e:  # network, TLS or RBAC: retried, then reported
            log("attempt %d of %d: cannot read node %s: %s" % (attempt, ATTEMPTS, node, e))
            if attempt < ATTEMPTS:
                time.sleep(5)

    if labels is None and saved is None:
        log("giving up: a new node takes its rack from its node's zone; the kubelet retries")
        return 1
    wanted = None
    if labels is not None:
        zone = labels.get(label)
        if zone:
            rack = re.sub(r"[^A-Za-z0-9._-]", "-", zone)
        else:
            log("node %s has no %s label: rack %s" % (node, label, os.environ["DEFAULT_RACK"]))
            rack = os.environ["DEFAULT_RACK"]
        wanted = (os.environ["DATACENTER"], rack)

    if saved is None:
        dc, rack = wanted
        write(saved_file, dc, rack)
    else:
        dc, rack = saved
        if wanted is not None and wanted != saved:
            log(
                "keeping dc=%s rack=%s saved at this node's first start, not dc=%s rack=%s: "
                "Cassandra refuses to change a node's datacenter or rack" % (dc, rack, wanted[0], wanted[1])
            )
    write(os.environ["OUT_FILE"], dc, rack)
    log("dc=%s rack=%s" % (dc, rack))
    return 0


if __name__ == "__main__":
    sys.exit(main())

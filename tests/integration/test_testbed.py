"""The testbed's own servers are real: MinIO built here, the local kube-apiserver."""

import json
import subprocess
import urllib.request

from conftest import binary


def test_minio_built_here_answers_health(minio_server):
    with urllib.request.urlopen(f"{minio_server.endpoint}/minio/health/live", timeout=5) as resp:
        assert resp.status == 200
    s3 = minio_server.client()
    s3.create_bucket(Bucket="testbed-probe")
    s3.put_object(Bucket="testbed-probe", Key="k", Body=b"hello")
    assert s3.get_object(Bucket="testbed-probe", Key="k")["Body"].read() == b"hello"


def test_mc_built_here_runs():
    out = subprocess.run([str(binary("mc")), "--version"], capture_output=True, text=True, check=True)
    assert "mc version" in out.stdout


def kubectl(kubeconfig, *args, stdin=None):
    return subprocess.run([str(binary("kubectl")), "--kubeconfig", kubeconfig, *args], input=stdin,
                          capture_output=True, text=True, check=True).stdout


def test_kube_apiserver_reports_its_version(kube_api):
    version = json.loads(kubectl(kube_api, "version", "-o", "json"))
    server = version["serverVersion"]
    assert int(server["major"]) == 1 and int(server["minor"].rstrip("+")) >= 29, server


def test_kube_apiserver_accepts_a_deployment(kube_api):
    manifest = json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "testbed-probe", "namespace": "default"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "probe"}},
                 "template": {"metadata": {"labels": {"app": "probe"}},
                              "spec": {"containers": [{"name": "c", "image": "example.invalid/probe:1"}]}}},
    })
    kubectl(kube_api, "apply", "-f", "-", stdin=manifest)
    try:
        got = json.loads(kubectl(kube_api, "get", "deployment", "testbed-probe", "-o", "json"))
        # defaults filled in by the API server prove it validated and stored the object
        assert got["spec"]["strategy"]["type"] == "RollingUpdate"
        assert got["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    finally:
        kubectl(kube_api, "delete", "deployment", "testbed-probe")

"""The day-2 operations' pure logic: restore drill report and MinIO pool layout rules."""

import pytest
from ansible_collections.onprem.wandb.plugins.module_utils import wandb_operations as ops


def pool(n_hosts, n_drives, start=1, name="m"):
    return {"hosts": ["%s%d" % (name, i) for i in range(start, start + n_hosts)],
            "drives": ["/srv/minio/disk%d" % i for i in range(1, n_drives + 1)]}


@pytest.mark.parametrize("hosts,drives,size", [
    (1, 1, 1), (1, 2, 2), (1, 4, 4), (2, 2, 4), (4, 2, 8), (4, 4, 16), (3, 4, 12),
    (8, 4, 16), (16, 1, 16), (3, 6, 9), (5, 4, 10), (32, 1, 16)])
def test_erasure_set_size(hosts, drives, size):
    assert ops.erasure_set_size(hosts, drives) == size


@pytest.mark.parametrize("hosts,drives", [(17, 1), (1, 17), (19, 1), (1, 0)])
def test_erasure_set_size_refused(hosts, drives):
    with pytest.raises(ops.LayoutError):
        ops.erasure_set_size(hosts, drives)


@pytest.mark.parametrize("size,parity", [(1, 0), (2, 1), (3, 1), (4, 2), (5, 2), (6, 3), (7, 3), (8, 4), (16, 4)])
def test_default_parity(size, parity):
    assert ops.default_parity(size) == parity


def test_expansion_accepted():
    out = ops.check_pools([pool(2, 2), pool(2, 2, start=3)], current=[pool(2, 2)])
    assert [(p["set_size"], p["sets"], p["parity"]) for p in out] == [(4, 1, 2), (4, 1, 2)]


@pytest.mark.parametrize("pools,current,words", [
    ([pool(2, 2), pool(2, 2, start=2)], None, "in pool 0 and pool 1"),
    ([pool(2, 1)], None, "at least 4 drives"),
    ([pool(4, 2), pool(2, 2, start=5)], None, "too small for the deployment's parity EC:4"),
    ([pool(2, 2, name="x"), pool(2, 2, start=3)], [pool(2, 2)], "differs from the running deployment"),
    ([pool(2, 3), pool(2, 2, start=3)], [pool(2, 2)], "differs from the running deployment"),
    ([pool(2, 2, start=3)], [pool(2, 2), pool(2, 2, start=5)], "differs from the running deployment"),
    ([pool(2, 2)], [pool(2, 2), pool(2, 2, start=3)], "decommission"),
    ([pool(17, 1)], None, "not divisible"),
    ([{"hosts": ["a"], "drives": []}], None, "needs hosts and drives"),
    ([{"hosts": ["a", "a"], "drives": ["/d"]}], None, "twice"),
    ([], None, "empty"),
])
def test_layout_refused(pools, current, words):
    with pytest.raises(ops.LayoutError, match=words):
        ops.check_pools(pools, current)


def test_row_count_report():
    tables = [{"s": "src", "t": "a"}, {"s": "dst", "t": "a"}, {"s": "src", "t": "b"},
              {"s": "dst", "t": "b"}, {"s": "src", "t": "c"}]
    out = ops.row_count_report(tables, [3, 3, 5, 4, 1], "src", "dst")
    assert [(e["table"], e["source"], e["restored"], e["equal"]) for e in out] == [
        ("a", 3, 3, True), ("b", 5, 4, False), ("c", 1, None, False)]
    assert out[2]["summary"] == "c 1/missing"


def test_row_count_report_length_mismatch():
    with pytest.raises(ValueError):
        ops.row_count_report([{"s": "a", "t": "x"}], [], "a", "b")


@pytest.mark.parametrize("volumes,pools", [
    ("http://m{1...2}:9000/srv/minio/disk{1...2}",
     [{"hosts": ["m1", "m2"], "drives": ["/srv/minio/disk1", "/srv/minio/disk2"]}]),
    ("http://a{1...2}:9000/d{1...2} https://b{01...02}.x:9000/e{3...4}",
     [{"hosts": ["a1", "a2"], "drives": ["/d1", "/d2"]},
      {"hosts": ["b01.x", "b02.x"], "drives": ["/e3", "/e4"]}]),
    ("http://one:9000/srv/minio/disk{1...4}", [{"hosts": ["one"], "drives": ["/srv/minio/disk%d" % i for i in range(1, 5)]}]),
])
def test_parse_volumes(volumes, pools):
    assert ops.parse_volumes(volumes) == pools


def test_volumes_round_trip():
    pools = [pool(2, 2), pool(2, 2, start=3)]
    text = " ".join(ops.volumes_argument(p) for p in pools)
    assert text == "http://m{1...2}:9000/srv/minio/disk{1...2} http://m{3...4}:9000/srv/minio/disk{1...2}"
    assert ops.parse_volumes(text) == pools


@pytest.mark.parametrize("hosts,words", [(["a1", "b2"], "only by one number"), (["m1", "m3"], "consecutively")])
def test_volumes_argument_refused(hosts, words):
    with pytest.raises(ops.LayoutError, match=words):
        ops.volumes_argument({"hosts": hosts, "drives": ["/d1", "/d2"]})


@pytest.mark.parametrize("values,out", [
    (["m1"], "m1"),
    (["m1", "m2", "m3"], "m{1...3}"),
    (["m9", "m10"], "m{9...10}"),
    (["/srv/minio/disk1", "/srv/minio/disk2"], "/srv/minio/disk{1...2}"),
    (["/mnt/disk1/minio", "/mnt/disk2/minio"], "/mnt/disk{1...2}/minio"),
    # leading zeros stay in the prefix, as the minio role has always written them
    (["minio-01", "minio-02", "minio-03"], "minio-0{1...3}"),
])
def test_ellipsis(values, out):
    assert ops.ellipsis(values) == out


@pytest.mark.parametrize("values,words", [
    ([], "empty"),
    (["minio-09", "minio-10"], "only by one number"),
    (["m0", "m1"], "only by one number"),
    (["m{1}", "m{2}"], "only by one number"),
    (["m2", "m1"], "consecutively"),
])
def test_ellipsis_refused(values, words):
    with pytest.raises(ops.LayoutError, match=words):
        ops.ellipsis(values, "the hosts")


def test_zero_padded_names_round_trip():
    """Pool 0 of a deployment the minio role wrote as minio-0{1...4} keeps that argument."""
    running = "http://minio-0{1...4}:9000/srv/disk0{1...2}"
    pools = ops.parse_volumes(running)
    assert pools == [{"hosts": ["minio-01", "minio-02", "minio-03", "minio-04"], "drives": ["/srv/disk01", "/srv/disk02"]}]
    assert ops.volumes_argument(pools[0]) == running

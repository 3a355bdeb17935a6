"""roles/mysql/files/onprem-wandb-backup-target.py: retention choice, SigV4 header signing
(AWS's published GET Object example), target selection."""

import datetime
import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[3] / "roles" / "mysql" / "files" / "onprem-wandb-backup-target.py"
spec = importlib.util.spec_from_file_location("backup_target", TOOL)
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)

DAY = 86400
NOW = 1_800_000_000


@pytest.mark.parametrize("ages,keep_days,keep_count,gone", [
    ([0, 1, 2, 3], 7, 2, []),                       # nothing older than 7 days
    ([0, 1, 8, 9, 10], 7, 2, ["d8", "d9", "d10"]),  # old ones beyond the newest 2
    ([8, 9, 10], 7, 2, ["d10"]),                    # the newest 2 stay even when old
    ([8, 9, 10], 7, 3, []),
    ([0, 8], 1, 1, ["d8"]),
])
def test_select_prunable(ages, keep_days, keep_count, gone):
    entries = [("d%d" % a, NOW - a * DAY - 1) for a in ages]
    assert sorted(tool.select_prunable(entries, NOW, keep_days, keep_count)) == sorted(gone)


def test_sigv4_matches_aws_get_object_example():
    headers = tool.sign_headers(
        "GET", "examplebucket.s3.amazonaws.com", "/test.txt", {}, {"Range": "bytes=0-9"},
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1",
        datetime.datetime(2013, 5, 24, tzinfo=datetime.UTC))
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


@pytest.mark.parametrize("conf,words", [
    ({"type": "ftp"}, "not s3 or rsync"),
    ({"type": "s3", "endpoint": "http://x:9000", "bucket": "b", "access_key": "a"}, "secret_key"),
    ({"type": "s3", "endpoint": "x:9000", "bucket": "b", "access_key": "a", "secret_key": "s"}, "not http"),
    ({"type": "rsync", "path": "/srv"}, "host"),
])
def test_bad_targets(conf, words):
    with pytest.raises(tool.TargetError, match=words):
        tool.target(conf)


def test_s3_host_header_keeps_a_non_default_port():
    t = tool.target({"type": "s3", "endpoint": "https://backup.example:9000", "bucket": "b",
                     "access_key": "a", "secret_key": "s"})
    assert (t.host, t.port, t.scheme) == ("backup.example:9000", 9000, "https")

"""The one login rule of the mysql role and the day-2 playbooks (filter mysql_root_login)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.onprem.wandb.plugins.filter.mysql_login import mysql_root_login

BASE = {"login_unix_socket": "/run/mysqld/mysqld.sock", "login_user": "root", "config_file": ""}


@pytest.mark.parametrize(("auth", "password", "expected"), [
    ("socket", "", BASE),
    ("socket", "ignored", BASE),
    ("password", "s3cret #x", dict(BASE, login_password="s3cret #x")),
    ("password", "", dict(BASE, login_password="")),
    ("password", None, dict(BASE, login_password="")),
])
def test_root_over_the_socket_with_a_password_only_for_password_auth(auth, password, expected):
    assert mysql_root_login("/run/mysqld/mysqld.sock", auth, password) == expected


def test_socket_auth_is_the_default():
    assert mysql_root_login("/var/lib/mysql/mysql.sock") == dict(BASE, login_unix_socket="/var/lib/mysql/mysql.sock")


@pytest.mark.parametrize(("socket", "auth", "match"), [
    ("", "socket", "absolute path"),
    ("mysqld.sock", "socket", "absolute path"),
    ("/run/mysqld/mysqld.sock", "native", "socket or password"),
])
def test_bad_input_is_an_error(socket, auth, match):
    with pytest.raises(AnsibleFilterError, match=match):
        mysql_root_login(socket, auth)

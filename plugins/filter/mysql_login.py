# -*- coding: utf-8 -*-
# Copyright (c) onprem.wandb maintainers
# MIT License (see LICENSE)
"""How the collection logs in to a MySQL server it manages (docs: mysql_root_login.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

_AUTH = ("socket", "password")


def mysql_root_login(socket, auth="socket", password=""):
    """community.mysql login options for root on this host: the unix socket, no option file,
    and the password only when root authenticates with one (mysql_root_auth: password)."""
    if not socket or not str(socket).startswith("/"):
        raise AnsibleFilterError("onprem.wandb.mysql_root_login: the socket must be an absolute path, got %r" % (socket,))
    if auth not in _AUTH:
        raise AnsibleFilterError("onprem.wandb.mysql_root_login: mysql_root_auth must be socket or password, got %r" % (auth,))
    login = {"login_unix_socket": str(socket), "login_user": "root", "config_file": ""}
    if auth == "password":
        login["login_password"] = "" if password is None else password
    return login


class FilterModule(object):
    """onprem.wandb MySQL login filter."""

    def filters(self):
        return {"mysql_root_login": mysql_root_login}

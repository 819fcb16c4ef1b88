"""The Debian package: `dpkg-buildpackage -us -uc -b` builds it from a copy of the tree, lintian
finds no error or warning, its contents and maintainer scripts are what debian/ says, and the
packaged binary, extracted with `dpkg-deb -x`, refuses the shipped configuration until its
secret is set and then serves a chat against the test's Prosody."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from desk import CLOSED, GREETING, QUEUE, jid
from harness import respa_sanitized

TOP = Path(__file__).resolve().parents[2]


def source_files() -> list[str]:
    """The files of the tree as git tracks them (what a clone has), with debian/."""
    res = subprocess.run(["git", "-C", str(TOP), "ls-files", "-z"], capture_output=True)
    if res.returncode != 0:
        pytest.skip("not a git checkout: the package is built from a clone's files")
    return [f for f in res.stdout.decode().split("\0") if f]


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    if respa_sanitized():
        pytest.skip("the package is built and tested once, in the normal run")
    if not shutil.which("dpkg-buildpackage"):
        pytest.fail("dpkg-buildpackage is missing (scripts/install-deps installs it)")
    work = tmp_path_factory.mktemp("package")
    src = work / "respa-src"
    for name in source_files():
        dest = src / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(TOP / name, dest, follow_symlinks=False)
    # the unit tests run in tests/run already; no debug symbols package
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck noddebs", LC_ALL="C.UTF-8")
    res = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    debs = list(work.glob("respa_*.deb"))
    assert len(debs) == 1, list(work.iterdir())
    return debs[0]


def deb_contents(deb: Path) -> dict[str, str]:
    """path -> mode string and owner, from `dpkg-deb -c`."""
    out = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True,
                         check=True).stdout
    entries = {}
    for line in out.splitlines():
        fields = line.split()
        entries[fields[-1].lstrip(".")] = f"{fields[0]} {fields[1]}"
    return entries


def control_file(deb: Path, name: str) -> str:
    res = subprocess.run(f"dpkg-deb --ctrl-tarfile {deb} | tar -xO ./{name}", shell=True,
                         capture_output=True, text=True)
    assert res.returncode == 0, f"no {name} in the package: {res.stderr}"
    return res.stdout


def test_package_contents_and_scripts(package):
    files = deb_contents(package)
    for path in ("/usr/bin/respa", "/lib/systemd/system/respa.service",
                 "/usr/share/man/man8/respa.8.gz", "/usr/share/man/man5/respa.conf.5.gz",
                 "/usr/share/doc/respa/prosody.cfg.lua.example",
                 "/usr/share/doc/respa/ejabberd.yml.example", "/usr/share/doc/respa/copyright"):
        assert path in files, f"{path} not in the package"
    assert any(p.startswith("/usr/share/doc/respa/respa.conf.example") for p in files)
    assert files["/etc/respa/respa.conf"] == "-rw------- root/root"   # the secret's file
    assert not any(p.startswith("/var/") for p in files)              # made by postinst

    assert control_file(package, "conffiles").split() == ["/etc/respa/respa.conf"]
    postinst = control_file(package, "postinst").replace("\\\n", " ")  # joined lines
    assert re.search(r"adduser --system --group .* respa", postinst), postinst
    assert "install -d -o respa -g respa -m 750 /var/lib/respa" in postinst
    assert "chown respa:respa /etc/respa/respa.conf" in postinst
    assert "deb-systemd-helper enable 'respa.service'" in postinst      # enabled...
    assert "deb-systemd-invoke" not in postinst                         # ...not started


def test_lintian_finds_no_error_or_warning(package):
    res = subprocess.run(["lintian", "--fail-on", "error,warning", "--tag-display-limit", "0",
                          str(package)], capture_output=True, text=True, timeout=600)
    tags = [line for line in res.stdout.splitlines() if re.match(r"[EW]: ", line)]
    assert res.returncode == 0 and not tags, res.stdout + res.stderr


async def test_packaged_binary_serves_a_chat(package, tmp_path, desk):
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(package), str(root)], check=True)
    binary = root / "usr/bin/respa"
    unit = (root / "lib/systemd/system/respa.service").read_text()
    assert "ExecStartPre=/usr/bin/respa -n -c /etc/respa/respa.conf" in unit
    assert "ExecStart=/usr/bin/respa -c /etc/respa/respa.conf" in unit

    # the shipped configuration: the unit's pre-check fails, saying why, until it is set
    conf = root / "etc/respa/respa.conf"
    res = subprocess.run([str(binary), "-n", "-c", str(conf)], capture_output=True, text=True)
    assert res.returncode == 1
    assert re.search(r"respa\.conf:\d+: secret is still the example's \"change-me\"",
                     res.stderr), res.stderr
    assert subprocess.run([str(binary), "--version"], capture_output=True,
                          text=True).stdout.startswith("respa ")

    # the packaged binary against the test's Prosody
    desk.prosody.register("alice")
    alice = await desk.login("alice")
    desk.r = desk._respa(config=desk.config(["alice"]), binary=binary)
    await desk.seen_as("alice", "available", since=0)
    bob = await desk.customer("bob")
    bob.send(QUEUE, "hello from a packaged desk")
    await bob.expect(GREETING, frm=QUEUE)
    header = await alice.expect("New chat #")
    conv = header["from"].bare
    alice.send(conv, "hello bob")
    await bob.expect("hello bob", frm=QUEUE)
    alice.send(conv, "/close Packaged")
    await bob.expect(CLOSED, frm=QUEUE)
    assert desk.conversation(conv)["agent_jid"] == jid("alice")

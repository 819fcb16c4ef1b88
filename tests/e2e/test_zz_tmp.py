import asyncio, os, time, pytest
FAKE = """#!/bin/bash
trap 'echo bye; exit 0' TERM
echo "respa: ready"
echo "$FAKE_SAY"
while :; do sleep 0.05; done
"""
@pytest.fixture
def fake(tmp_path, monkeypatch):
    s = tmp_path / "fake"; s.write_text(FAKE); s.chmod(0o755)
    monkeypatch.setenv("RESPA_BIN", str(s))

def test_asan_fails(fake, respa, monkeypatch):
    monkeypatch.setenv("FAKE_SAY", "x.c:3:5: runtime error: signed integer overflow")
    respa()

def test_clean_passes(fake, respa):
    r = respa(config={"queue support": {"agents": "alice@localhost"}})
    assert r.running

async def test_fails_shows_logs(make_client):
    a = await make_client("alice")
    await a.expect("never", timeout=0.3)

@pytest.mark.timeout(1)
async def test_async_hang(make_client):
    a = await make_client("alice")
    await asyncio.sleep(30)

@pytest.mark.timeout(1)
def test_sync_hang(prosody):
    time.sleep(30)

def test_missing_binary(respa, monkeypatch):
    monkeypatch.setenv("RESPA_BIN", "/nonexistent/respa")
    respa()

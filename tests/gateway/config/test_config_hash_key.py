"""``storage.hash_key`` / ``hash_key_file`` (the erasure key) as ``stopgate check-config``
prints their problems: the real console script on a file of this test."""

from __future__ import annotations

from pathlib import Path

from gateway.config.model import load_config
from gateway.suppression.erasure import NumberHasher
from tests.gateway.cli.test_cli import stopgate

SHORT = "s3cr3t-but-too-short-31-chars-xx"[:31]
GOOD = "0123456789abcdef" * 4  # openssl rand -hex 32


def check(tmp_path: Path, storage: str, **env: str) -> tuple[int, str, str]:
    path = tmp_path / "stopgate.toml"
    path.write_text(f"[storage]\n{storage}\n")
    result = stopgate("check-config", "-c", str(path), cwd=tmp_path, **env)
    return result.returncode, result.stdout, result.stderr


def test_a_key_shorter_than_32_characters_is_refused_and_not_echoed(tmp_path: Path) -> None:
    assert len(SHORT) == 31
    assert check(tmp_path, f'hash_key = "{SHORT}"') == (1, "", (
        "storage.hash_key: must be at least 32 characters (a random secret: openssl rand "
        "-hex 32), got 31\n"))
    # Spaces around it do not count; a blank key is not "no key".
    assert check(tmp_path, f'hash_key = "  {SHORT}  "')[2] == (
        "storage.hash_key: must be at least 32 characters (a random secret: openssl rand "
        "-hex 32), got 31\n")
    assert check(tmp_path, 'hash_key = "   "')[2] == (
        "storage.hash_key: must be at least 32 characters (a random secret: openssl rand "
        "-hex 32), got 0\n")


def test_a_short_key_from_its_file_or_the_environment_is_refused(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(SHORT + "\n")
    # Named by its key, as every secret read from a file is.
    assert check(tmp_path, f'hash_key_file = "{tmp_path / "key"}"') == (1, "", (
        "storage.hash_key: must be at least 32 characters (a random secret: openssl "
        "rand -hex 32), got 31\n"))
    code, _, err = check(tmp_path, "", STOPGATE_STORAGE_HASH_KEY=SHORT)
    assert (code, err) == (1, (
        "storage.hash_key: must be at least 32 characters (a random secret: openssl rand "
        "-hex 32), got 31 (from STOPGATE_STORAGE_HASH_KEY)\n"))


def test_the_key_and_its_file_together_are_refused(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(GOOD + "\n")
    assert check(tmp_path, f'hash_key = "{GOOD}"\nhash_key_file = "{tmp_path / "key"}"') == (
        1, "", "storage.hash_key_file: give either hash_key or hash_key_file, not both\n")


def test_an_unreadable_key_file_is_refused_with_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    assert check(tmp_path, f'hash_key_file = "{missing}"') == (1, "", (
        f"storage.hash_key_file: cannot read secret file '{missing}': No such file or "
        "directory\n"))
    assert check(tmp_path, f'hash_key_file = "{tmp_path}"') == (1, "", (
        f"storage.hash_key_file: cannot read secret file '{tmp_path}': Is a directory\n"))


def test_a_good_key_from_its_file_is_the_same_key(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(GOOD + "\n")
    assert check(tmp_path, f'hash_key_file = "{tmp_path / "key"}"') == (
        0, "config OK: 0 upstreams, 0 accounts, 0 rules\n", "")
    from_file = load_config(tmp_path / "stopgate.toml", env={}).storage.hash_key
    assert from_file == GOOD  # the file's last newline is not part of the key
    assert NumberHasher(from_file.encode()).fingerprint == NumberHasher(
        GOOD.encode()).fingerprint
    assert check(tmp_path, f'hash_key = "{GOOD[:32]}"')[0] == 0

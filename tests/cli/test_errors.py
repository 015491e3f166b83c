"""Bad input through the real CLI, in Danish: one plain Danish error naming the file and key.

Each case writes one broken file a user can meet (agent.toml, server.toml, a
manifest, federation.toml, a key file, a certificate, an extract with a bad
cell, a FHIR bundle, partner.toml) and runs the command that reads it. The
error must exit non-zero without a traceback, name the file (and the key or
column), and pass the house scan plus the words an English error is made of.
The same case in English must read differently: the Danish is not a copy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from client.extract.schema import TABLES
from common.errors import FileKeyError
from common.i18n import set_lang
from common.keyfiles import public_bytes, write_private_key
from indicator_defs.loader import load_codelist, load_indicator
from indicator_defs.survey_loader import load_survey
from klynge.cli import root
from tests.browser.danish import scan

# What English configuration errors are made of, beyond the house scan's stop-list.
ERROR_WORDS = frozenset(
    {
        "must",
        "missing",
        "found",
        "required",
        "unknown",
        "key",
        "file",
        "got",
        "cannot",
        "expected",
        "directory",
        "invalid",
        "should",
        "either",
        "neither",
        "exists",
    }
)


def slips(text: str) -> list[object]:
    """The house scan and the error words, past the quoted keys and columns (names to type)."""
    prose = re.sub(r"'[^']*'", "''", text)
    return [*scan(prose), *english_words(prose)]


def english_words(text: str) -> list[str]:
    words = [w.strip(".,:;()'\"[]") for w in text.split()]
    return [w for w in words if w.lower() in ERROR_WORDS]


@dataclass(frozen=True)
class Case:
    name: str
    write: Callable[[Path], None]  # the broken input, under the test's folder
    args: Callable[[Path], list[str]]  # the command that reads it
    names: tuple[str, ...]  # what the Danish error must name: the file, the key or column
    lines: int = 1  # an extract's or a FHIR import's error lists its problems below one line


def _text(name: str, body: str) -> Callable[[Path], None]:
    return lambda d: (d / name).write_text(body, encoding="utf-8")


def _extract(d: Path) -> None:
    extract = d / "extract"
    extract.mkdir()
    for table in TABLES:
        (extract / f"{table.name}.csv").write_text(",".join(table.column_names) + "\n")
    (extract / "patients.csv").write_text(
        "patient_id,birth_date,sex,list_start,list_end,death_date\np1,1950-13-01,F,2018-02-04,,\n",
        encoding="utf-8",
    )


def _national(d: Path, trust_body: str, publication: str) -> None:
    """A national body's key and trust file (one region), and one region's publication."""
    key = Ed25519PrivateKey.generate()
    write_private_key(d / "national.key", key)
    (d / "national.key.pub").write_text(public_bytes(key.public_key()).hex())
    (d / "trust.toml").write_text(trust_body, encoding="utf-8")
    (d / "publication.json").write_text(publication, encoding="utf-8")


_REGION = '[[region]]\nname = "Midtjylland"\nlog_key = "national.key.pub"\n'
_TRUST = '[[manifest_authority]]\nname = "SDS"\npublic_key = "national.key.pub"\n' + _REGION
_SERVER = (
    '[coordinator]\nlisten = "127.0.0.1:0"\nstore = "coordinator.sqlite"\n[tls]\npki_dir = "pki"\n'
    '[federation]\nfile = "federation.toml"\nregistry = "registry.json"\n'
    'registry_authority = "registry.pub"\n[manifest]\nfile = "manifest.toml"\n'
    '[transparency]\nkey = "log.key"\n'
)


def _damaged_store(d: Path) -> None:
    (d / "server.toml").write_text(_SERVER, encoding="utf-8")
    (d / "coordinator.sqlite").write_bytes(b"not a SQLite database at all " * 200)


def _national_args(d: Path) -> list[str]:
    return [
        *("national", "combine", str(d / "publication.json")),
        *("--trust", str(d / "trust.toml"), "--key", str(d / "national.key")),
        *("--out", str(d / "national")),
    ]


def _results(name: str, body: str, names: tuple[str, ...]) -> Case:
    """A broken results.json given to `klynge fhir report`, the command that reads one."""
    return Case(
        f"results.json {name}",
        _text("results.json", body),
        lambda d: ["fhir", "report", str(d / "results.json"), "--out", str(d / "out")],
        ("results.json", *names),
    )


_BUNDLE = '{"resourceType": "Bundle", "type": "collection", "entry": ['
_PATIENT = '{"resource": {"resourceType": "Patient", "id": "p1", "gender": "female"}}'

CASES = [
    Case(
        "agent.toml missing",
        lambda d: None,
        lambda d: ["agent", "status", "--config", str(d / "agent.toml")],
        ("agent.toml", "agentens konfigurationsfil findes ikke"),
    ),
    Case(
        "agent.toml garbled",
        _text("agent.toml", "practice_id = \n"),
        lambda d: ["agent", "status", "--config", str(d / "agent.toml")],
        ("agent.toml:1", "ikke gyldig TOML", "kolonne"),
    ),
    Case(
        "agent.toml wrong format",
        _text("agent.toml", 'format = "klynge-agent/0"\n'),
        lambda d: ["agent", "status", "--config", str(d / "agent.toml")],
        ("agent.toml", "nøgle 'format'", "ukendt format"),
    ),
    Case(
        "server.toml",
        _text("server.toml", "[coordinator]\nstore = 3\n"),
        lambda d: ["server", "status", "--config", str(d / "server.toml")],
        ("server.toml", "nøgle 'coordinator.listen'", "påkrævet nøgle mangler"),
    ),
    Case(
        "manifest missing its format",
        _text("manifest.toml", "version = 1\n"),
        lambda d: ["manifest", "hash", str(d / "manifest.toml")],
        ("manifest.toml", "nøgle 'format'"),
    ),
    Case(
        "manifest of an unknown format",
        _text("manifest.toml", 'format = "klynge-manifest/9"\n'),
        lambda d: ["manifest", "hash", str(d / "manifest.toml")],
        ("manifest.toml", "nøgle 'format'", "klynge-manifest/2"),
    ),
    Case(
        "federation.toml",
        _text(
            "federation.toml",
            'format = "klynge-federation"\nversion = 1\n'
            '[[clusters]]\nid = "X1"\nregion = "Hovedstaden"\n',
        ),
        lambda d: [
            "server",
            "registry",
            "--out",
            str(d / "registry.json"),
            "--authority",
            str(d / "authority.key"),
            "--federation",
            str(d / "federation.toml"),
            "--public-key",
            f"P0001={d / 'P0001.pub'}",
        ],
        ("federation.toml:3", "nøgle 'clusters[0].id'", "K01"),
    ),
    Case(
        "key file",
        _text("authority.pub", "abc123\n"),
        lambda d: [
            *("manifest", "trust-key", str(d / "authority.pub")),
            *("--trust-dir", str(d / "t"), "--name", "Region"),
        ],
        ("authority.pub", "64 hex-tegn"),
    ),
    Case(
        "certificate",
        lambda d: (d / "pki").mkdir() or (d / "pki" / "ca.pem").write_text("garbage\n"),
        lambda d: ["pki", "list", "--dir", str(d / "pki")],
        ("ca.pem", "PEM-certifikat"),
    ),
    Case(
        "extract with a bad cell",
        _extract,
        lambda d: ["compute", str(d / "extract"), "--as-of", "2026-01-01"],
        ("patients.csv, linje 2", "kolonne 'birth_date'", "ÅÅÅÅ-MM-DD"),
        lines=2,
    ),
    Case(
        "FHIR bundle cut short",
        _text("bundle.json", _BUNDLE + _PATIENT + ", "),
        lambda d: ["fhir", "import", str(d / "bundle.json"), "--out", str(d / "out")],
        ("bundle.json, byte", "ikke gyldig JSON"),
        lines=2,
    ),
    Case(
        "FHIR bundle with a bad resource",
        _text("bundle.json", _BUNDLE + _PATIENT + "]}"),
        lambda d: ["fhir", "import", str(d / "bundle.json"), "--out", str(d / "out")],
        ("bundle.json", "Patient"),
        lines=2,
    ),
    Case(
        "partner.toml",
        _text("partner.toml", '[partner]\nid = "sst"\ncoordinator = 5\n[tls]\n'),
        lambda d: ["partner", "fetch", "--config", str(d / "partner.toml")],
        ("partner.toml", "nøgle 'partner.coordinator'", "tekst"),
    ),
    _results("garbled", '{"reference_date": "2026-09-30", \n', ("ikke JSON", "linje 2")),
    _results("too deep", "[" * 40 + "]" * 40, ("indlejret i mere end 32 niveauer",)),
    _results(
        "with a bad date",
        '{"reference_date": "2026-13-01", "clusters": {}, "regions": {}}',
        ("nøgle 'reference_date'", "ÅÅÅÅ-MM-DD"),
    ),
    _results(
        "with a release lacking its round ids",
        '{"reference_date": "2026-09-30", "regions": {}, "clusters": {"K01": {}}}',
        ("nøgle 'clusters.K01.round_ids'", "påkrævet felt mangler"),
    ),
    _results(
        "with a release filed under another unit",
        '{"reference_date": "2026-09-30", "regions": {}, "clusters": {"K01": {"unit": "K02", '
        '"round_ids": [], "indicators": [], "release_id": 1, "created_at": "2026-10-01"}}}',
        ("nøgle 'clusters.K01.unit'", "arkiveret under 'K01'"),
    ),
    Case(
        "damaged store",
        _damaged_store,
        lambda d: ["server", "status", "--config", str(d / "server.toml")],
        ("coordinator.sqlite", "ikke et læsbart Klynge-lager", "sikkerhedskopi"),
    ),
    Case(
        "store that was never made",
        _text("server.toml", _SERVER),
        lambda d: ["server", "status", "--config", str(d / "server.toml")],
        ("coordinator.sqlite", "intet lager her"),
    ),
    Case(
        "national publication garbled",
        lambda d: _national(d, _TRUST, "{"),
        _national_args,
        ("publication.json", "ikke JSON"),
    ),
    Case(
        "national publication of another format",
        lambda d: _national(
            d,
            _TRUST,
            '{"format": "x", "region": "Midtjylland", "reference_date": "2026-09-30", '
            '"manifest": "", "head": {}, "releases": []}',
        ),
        _national_args,
        ("publication.json", "nøgle 'format'", "forventede klynge-", "fik 'x'"),
    ),
    Case(
        "national publication lacking its head",
        lambda d: _national(d, _TRUST, '{"format": "x"}'),
        _national_args,
        ("publication.json", "mangler head"),
    ),
    Case(
        "national trust file naming a region twice",
        lambda d: _national(d, _TRUST + _REGION, "{}"),
        _national_args,
        ("trust.toml:7", "nøgle 'region[1].name'", "opført to gange"),
    ),
]


def run(tmp_path: Path, case: Case, *lang: str):
    result = CliRunner().invoke(root, [*lang, *case.args(tmp_path)], env={"COLUMNS": "400"})
    return result, result.output.strip().splitlines()


@pytest.fixture(autouse=True)
def default_language(monkeypatch):
    set_lang(None)  # an earlier invocation's --lang stays in this process otherwise
    monkeypatch.delenv("KLYNGE_LANG", raising=False)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_plain_danish_error_naming_the_file(tmp_path: Path, case: Case) -> None:
    case.write(tmp_path)
    result, lines = run(tmp_path, case)
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, AssertionError)
    assert lines and lines[0].startswith("klynge: ") and len(lines) <= case.lines, lines
    text = " ".join(lines)
    for name in case.names:
        assert name in text, (name, text)
    assert slips(text) == [], text

    english, english_lines = run(tmp_path, case, "--lang", "en")
    assert english.exit_code == result.exit_code
    assert english_lines != lines  # translated, not the same text in both languages


def test_a_bad_survey_definition_is_a_danish_error_naming_file_and_key(tmp_path: Path) -> None:
    """No command reads a user's survey file (the installed definitions are checked at load),
    so the reader is asked directly."""
    path = tmp_path / "PX.toml"
    path.write_text('id = "PX"\nversion = 1\nowner = "x"\n', encoding="utf-8")
    with pytest.raises(FileKeyError) as info:
        load_survey(path)
    text = str(info.value)
    assert "PX.toml" in text and "nøgle '" in text
    assert slips(text) == [], text


@pytest.mark.parametrize(
    ("name", "body", "names"),
    [
        ("X-01.toml", 'id = "X-02"\n', ("X-01.toml", "nøgle 'id'", "filnavnet")),
        (
            "X-01.toml",
            'id = "X-01"\nversion = 1\nunit = "patients"\ndirection = "higher"\n'
            '[denominator]\npopulation = { sex = "K" }\n'
            "[numerator]\ncriterion = { listed = true }\n",
            ("X-01.toml", "nøgle 'denominator.population.sex'", '"F" eller "M"'),
        ),
        ("hba1c.toml", 'name = "hba1c"\nsystem = "XYZ"\n', ("hba1c.toml", "kodesystem 'XYZ'")),
    ],
)
def test_a_bad_indicator_definition_or_code_list_is_a_danish_error(
    tmp_path: Path, name: str, body: str, names: tuple[str, ...]
) -> None:
    """No command reads a user's definitions (the installed catalogue is checked at load),
    so the readers are asked directly."""
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    with pytest.raises(FileKeyError) as info:
        if "system" in body:
            load_codelist(path)
        else:
            load_indicator(path, {})
    text = str(info.value)
    for part in names:
        assert part in text, (part, text)
    assert slips(text) == [], text


def test_status_of_a_store_never_made_leaves_none_behind(tmp_path: Path) -> None:
    """A command that only reads must not create an empty store (it would then say 'no
    rounds' about a coordinator that never ran with this configuration)."""
    (tmp_path / "server.toml").write_text(_SERVER, encoding="utf-8")
    result = CliRunner().invoke(
        root, ["server", "status", "--config", str(tmp_path / "server.toml")]
    )
    assert result.exit_code != 0
    assert not (tmp_path / "coordinator.sqlite").exists()

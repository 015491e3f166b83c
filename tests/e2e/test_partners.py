"""A partner at a real coordinator over mutual TLS: exactly its grant, and every refusal logged.

The demo's manifest declares the hospital's quality unit for the first
cluster, at cluster level, with four diabetes and antibiotic indicators; its
certificate is the region CA's. One real coordinator process and one agent
process run one round; then the partner fetches what it was given, asks for
more (another cluster, level, measure) and is refused, and so are a partner
certificate the manifest does not name and a practice's certificate asking as
a partner. Every refusal is a PERMISSION_DENIED and an entry of the
transparency log, which still verifies under the coordinator's key.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime

import pytest

from common.keyfiles import load_public_key
from klynge.demo import DEMO_PARTNER_MEASURES
from privacy.transparency import verify_log
from protocols.wire import FETCH_CLUSTER, FETCH_PARTNER
from server.documents import release_document
from server.partner_client import fetch_partner, load_partner_settings
from server.partners import PartnerRequest
from server.store import Level, Store
from tests.adversarial.federation import LiveFederation
from transport.fetch import FetchError, fetch_once
from transport.pki import PkiLayout, issue_partner
from transport.tls import TlsFiles, channel_credentials, load_tls

pytestmark = pytest.mark.e2e


def _refusals(fed: LiveFederation) -> list[dict[str, object]]:
    lines = fed.layout.transparency_log.read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.strip()]
    return [e["payload"] for e in entries if e.get("kind") == "fetch_refused"]


def _denied(call) -> str:
    with pytest.raises(FetchError) as caught:
        call()
    assert caught.value.status == "PERMISSION_DENIED", caught.value
    return caught.value.details


def test_a_partner_gets_exactly_its_grant_and_everything_more_is_refused_and_logged(tmp_path):
    with LiveFederation.prepare(tmp_path, practices=6, clusters=1) as fed:
        cluster = fed.layout.federation.clusters[0].id
        region = fed.layout.federation.clusters[0].region
        pki = PkiLayout(fed.layout.out / "pki")
        issue_partner(pki, "outsider", now=datetime.now(UTC))
        with fed.layout.server_config.open("a") as config:
            config.write('\n[operations]\nmetrics = "127.0.0.1:0"\n')
        port = fed.start_coordinator()
        fed.agent_process(fed.practices(cluster))
        assert fed.wait_for_rounds({cluster}) == {cluster: "released"}
        assert fed.layout.partner_config is not None
        settings = load_partner_settings(fed.layout.partner_config)

        received = fetch_partner(settings, PartnerRequest())
        (doc,) = received.releases
        assert (doc.level, doc.unit) == ("cluster", cluster)
        assert set(doc.figures) == set(DEMO_PARTNER_MEASURES)
        store = Store.open(fed.layout.store)
        try:
            stored = store.latest_release(Level.CLUSTER, cluster)
            assert stored is not None and store.latest_release(Level.REGION, region) is not None
            full = release_document(stored)
        finally:
            store.close()
        assert len(full.figures) > len(DEMO_PARTNER_MEASURES)
        assert {k: full.figures[k] for k in DEMO_PARTNER_MEASURES} == dict(doc.figures)
        narrowed = fetch_partner(settings, PartnerRequest(measures=("DM-01",)))
        assert [set(d.figures) for d in narrowed.releases] == [{"DM-01"}]

        asked_more = {
            "partner_unit": PartnerRequest(units=("K99",)),
            "partner_level": PartnerRequest(level="region"),
            "partner_measure": PartnerRequest(measures=("DM-01", "HT-01")),
        }
        for reason, request in asked_more.items():
            assert reason in _denied(lambda r=request: fetch_partner(settings, r))
        # Asked again (something else): refused and counted, but not logged again this minute.
        assert "partner_unit" in _denied(
            lambda: fetch_partner(settings, PartnerRequest(units=("K98",)))
        )

        target = f"localhost:{port}"

        def raw(files: TlsFiles, scope: str = FETCH_PARTNER):
            credentials = channel_credentials(load_tls(files))
            return lambda: fetch_once(credentials, target, scope, timeout=10)

        outsider = TlsFiles(pki.ca_cert, pki.partner_cert("outsider"), pki.partner_key("outsider"))
        assert "partner_not_declared" in _denied(raw(outsider))
        practice = TlsFiles.for_practice(pki, fed.practices(cluster)[0])
        assert "not_a_partner" in _denied(raw(practice))
        # A partner cannot take a practice's scope (its "own cluster").
        assert "partner_scope" in _denied(raw(settings.tls, FETCH_CLUSTER))

        refusals = _refusals(fed)
        by_reason = {str(p["reason"]): p for p in refusals}
        assert len(refusals) == len(by_reason) == 6
        others = {"partner_not_declared", "not_a_partner", "partner_scope"}
        assert set(by_reason) == {*asked_more, *others}
        assert by_reason["partner_unit"]["identity"] == "urn:klynge:partner:rh-kvalitet"
        assert by_reason["partner_unit"]["asked"] == "level=all units=K99 measures=all"
        assert by_reason["partner_not_declared"]["identity"] == "urn:klynge:partner:outsider"
        assert str(by_reason["not_a_partner"]["identity"]).startswith("urn:klynge:practice:")
        refused = [e for e in fed.coordinator_events() if e.get("event") == "partner_refused"]
        assert len(refused) == 7
        log = verify_log(fed.layout.transparency_log, log_key=load_public_key(fed.layout.log_key))
        assert log.kinds["fetch_refused"] == 6
        (listening,) = [e for e in fed.coordinator_events() if e["event"] == "metrics_listening"]
        with urllib.request.urlopen(f"http://127.0.0.1:{listening['port']}/metrics") as page:
            metrics = page.read().decode()
        for reason in by_reason:
            count = 2 if reason == "partner_unit" else 1
            assert f'klynge_refusals_total{{reason="{reason}",source="fetch"}} {count}.0' in metrics

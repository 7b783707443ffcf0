"""What every client calls first: GetVersion, InspectCluster, and the SDK's connection check."""

import subprocess
import sys
from pathlib import Path

from pachyderm_sdk import Client
from pachyderm_sdk.api import admin, version


def test_get_version(client):
    v = client.get_version()
    assert isinstance(v, version.Version)
    assert (v.major, v.minor) == (2, 12)


def test_inspect_cluster_has_a_stable_deployment_id(client, pach):
    # the SDK's inspect_cluster sends its own version (2.12.2) as client_version
    info = client.admin.inspect_cluster()
    assert isinstance(info, admin.ClusterInfo)
    assert len(info.deployment_id) == 32
    assert info.warnings == []
    assert client.admin.inspect_cluster().deployment_id == info.deployment_id


def test_sdk_check_connection_script(pach):
    # the console script pachyderm_sdk installs (its __main__.check_connection): GetVersion
    script = Path(sys.executable).parent / "pachyderm-sdk-check-connection"
    ok = subprocess.run([str(script), "grpc://" + pach.address], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"Successful Connection: {pach.address}"



def test_client_from_config_after_set_context(start_pach, tmp_path):
    # `pach serve --set-context` writes a pachctl context the SDK's from_config() reads
    config = tmp_path / "config.json"
    with start_pach("--set-context", "laptop", serve_env={"PACH_CONFIG": str(config)}) as p:
        c = Client.from_config(config)
        assert c.address == p.address
        assert (c.get_version().major, c.get_version().minor) == (2, 12)
        assert c.admin.inspect_cluster().deployment_id == p.client.admin.inspect_cluster().deployment_id

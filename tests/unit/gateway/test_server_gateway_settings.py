"""Settings of the gateway embedded in `ronda serve`: environment and MQTT choice."""

from __future__ import annotations

import pytest

from ronda.api.server import gateway_config, mqtt_settings
from ronda.api.settings import GATEWAY_PORTS, GatewaySettings, ServerSettings
from ronda.errors import InvalidInput


def test_defaults_serve_every_protocol_on_its_port_with_mqtt_auto() -> None:
    g = ServerSettings.from_env({}).gateway
    assert g.enabled and g.host is None and dict(g.ports) == GATEWAY_PORTS
    assert GATEWAY_PORTS == {"gt06": 5023, "teltonika": 5027, "h02": 5013, "watch": 5093}
    assert g.mqtt == "auto" and g.mqtt_client_id == "ronda-server" and g.metrics_port is None


def test_environment_moves_closes_and_disables() -> None:
    g = GatewaySettings.from_env(
        {"RONDA_GT06_PORT": "6023", "RONDA_WATCH_PORT": "off", "RONDA_H02_PORT": "-1",
         "RONDA_GATEWAY_HOST": "0.0.0.0", "RONDA_MQTT": "broker:1884", "RONDA_GATEWAY_METRICS_PORT": "9109"}
    )  # fmt: skip
    assert dict(g.ports) == {"gt06": 6023, "teltonika": 5027}
    assert g.host == "0.0.0.0" and g.mqtt == "broker:1884" and g.metrics_port == 9109
    assert not GatewaySettings.from_env({"RONDA_GATEWAY": "off"}).enabled
    with pytest.raises(InvalidInput):
        GatewaySettings.from_env({"RONDA_GT06_PORT": "70000"})
    with pytest.raises(InvalidInput):
        GatewaySettings.from_env({"RONDA_GATEWAY": "maybe"})


@pytest.mark.asyncio
async def test_mqtt_off_explicit_and_auto_without_a_broker() -> None:
    def settings(mqtt: str) -> ServerSettings:
        return ServerSettings(gateway=GatewaySettings(mqtt=mqtt))

    assert await mqtt_settings(settings("off")) is None
    explicit = await mqtt_settings(settings("broker.example:1884"))
    assert explicit is not None and (explicit.host, explicit.port) == ("broker.example", 1884)
    assert explicit.client_id == "ronda-server" and explicit.subscription == "ronda/devices/+/records"
    no_port = await mqtt_settings(settings("broker.example"))
    assert no_port is not None and no_port.port == 1883
    config = await gateway_config(ServerSettings(host="127.0.0.1", gateway=GatewaySettings(mqtt="off")))
    assert config is not None and config.host == "127.0.0.1" and config.mqtt is None
    assert await gateway_config(ServerSettings(gateway=GatewaySettings(enabled=False))) is None

"""The version registry on disk: pruning old versions never touches the serving one."""

from __future__ import annotations

from finetune import Registry


def test_prune_keeps_the_newest_the_serving_and_the_protected(tmp_path):
    registry = Registry(tmp_path / "models")
    for name in ["v1", "v2", "v3", "v4", "v5"]:
        (registry.root / name).mkdir()
        (registry.root / name / "version.json").write_text("{}")
    registry.activate("v2")

    assert registry.prune(0) == [] and len(registry.versions()) == 5  # 0 keeps every version
    assert registry.prune(keep=2, protect={"v3"}) == ["v1"]
    assert registry.versions() == ["v2", "v3", "v4", "v5"] and registry.current().name == "v2"
    assert sorted(p.name for p in registry.root.iterdir()) == ["current", "v2", "v3", "v4", "v5"]  # nothing hidden left
    assert registry.prune(keep=1) == ["v3", "v4"]
    assert registry.versions() == ["v2", "v5"]

"""The sensor cross-built for router CPUs with deploy/cross-build.sh: the
aarch64 build replays every capture in tests/data under qemu-user to a
collector on this machine without losing a frame and fits the size budget;
the mipsel build links (and, as it runs under qemu-user too, replays).
Slow (two cross builds): ctest entry 'cross' with label 'cross'."""
import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "integration"))
from conftest import BUILD_DIR, CAPTURES, SOURCE_DIR, Collector, Sensor, frame_count  # noqa: E402

SIZE_BUDGET = 1 << 20  # bytes, stripped (docs/performance.md)
ARCHES = {"aarch64": ("aarch64-linux-gnu", "qemu-aarch64"), "mipsel": ("mipsel-linux-gnu", "qemu-mipsel")}


def cross_build(arch):
    out = BUILD_DIR / ("cross-" + arch)
    res = subprocess.run([str(SOURCE_DIR / "deploy" / "cross-build.sh"), arch, str(out)], capture_output=True,
                         text=True, timeout=3000)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return out


@pytest.fixture(scope="module", params=sorted(ARCHES))
def built(request):
    return request.param, cross_build(request.param)


def under_qemu(arch, build, argv):
    """argv for running the cross-built sensor with qemu-user: the target's C
    library from the cross toolchain, the other libraries from the sysroot."""
    triplet, qemu = ARCHES[arch]
    return [qemu, "-L", "/usr/" + triplet,
            "-E", "LD_LIBRARY_PATH=%s/sysroot/usr/lib/%s:%s/sysroot/lib/%s" % (build, triplet, build, triplet),
            str(build / "hopwire-sensor")] + argv


def elf_machine(path):
    out = subprocess.run(["readelf", "-h", str(path)], capture_output=True, text=True, check=True).stdout
    return next(l.split(":", 1)[1].strip() for l in out.splitlines() if "Machine:" in l)


def test_the_build_is_for_the_target(built):
    arch, build = built
    expected = {"aarch64": "AArch64", "mipsel": "MIPS R3000"}[arch]
    assert elf_machine(build / "hopwire-sensor") == expected
    res = subprocess.run(under_qemu(arch, build, ["--version"]), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("hopwire-sensor "), res.stdout + res.stderr


def test_aarch64_fits_the_size_budget(built):
    arch, build = built
    if arch != "aarch64":
        pytest.skip("the budget is for x86_64 and aarch64")
    size = (build / "hopwire-sensor").stat().st_size
    assert size <= SIZE_BUDGET, "stripped aarch64 sensor is %d bytes, budget %d" % (size, SIZE_BUDGET)


def test_replays_every_capture_to_a_host_collector_without_loss(built, tmp_path):
    arch, build = built
    collector = Collector(tmp_path).start()
    try:
        expected = {}
        for cap in CAPTURES:
            name = "%s-%s" % (arch, cap.stem)
            sensor = Sensor(collector, "%s:name=%s,realtime=false" % (cap, name), extra=["--disable-retry"])
            sensor.args = under_qemu(arch, build, sensor.args[1:])
            rc = sensor.run(timeout=300)
            assert rc == 0, sensor.out
            expected[name] = frame_count(cap)
        sources = collector.sources()
        for name, frames in expected.items():
            assert sources[name]["kismet.datasource.num_packets"] == frames, name
            assert sources[name]["hopwire.datasource.dropped_ring"] == 0, name
        assert collector.status()["hopwire.system.frames_malformed"] == 0
    finally:
        collector.stop()

"""The weft image (issue 21, part 4): tools/build-image.sh builds an OCI archive offline from the
build under test; its root filesystem, unpacked from the archive's layers as a runtime would,
runs weft-agent and weft-cni under chroot, holds nothing but the two binaries, the agent's
libraries and the loader, and its config names the entrypoint and version. weft-cni is static:
the installer copies it onto the node, whose libraries are not the image's.
image/Containerfile's runtime stage installs a Debian package for every library the binaries
load beyond the base image."""
import hashlib
import io
import json
import os
import re
import subprocess
import tarfile

import pytest

from weftsim import paths, procs

BINARIES = {"weft-agent": "agent/weft-agent", "weft-cni": "cni/weft-cni"}
# In debian:bookworm-slim already (libc6, libstdc++6, libgcc-s1, zlib1g).
BASE_LIBRARIES = ("libc.so", "libm.so", "libstdc++.so", "libgcc_s.so", "libz.so", "ld-linux")


def _blob(archive, digest):
    """The bytes of blob `digest` (sha256:...), checked against its digest."""
    algo, hexdigest = digest.split(":")
    data = archive.extractfile(f"blobs/{algo}/{hexdigest}").read()
    assert hashlib.new(algo, data).hexdigest() == hexdigest, f"blob {digest} is corrupt"
    return data


def _libraries(binary):
    """The shared libraries the loader resolves for `binary`, and the loader itself (none for a
    static binary)."""
    r = procs.run(["ldd", binary], check=False)
    if "not a dynamic executable" in r.stdout + r.stderr:
        return set()
    assert r.returncode == 0, r.stderr
    out = r.stdout
    libs = set(re.findall(r"=> (/\S+)", out))
    libs |= set(re.findall(r"^\s*(/\S+ld-linux\S+)", out, re.M))
    return libs


@pytest.fixture(scope="module")
def image(build, tmp_path_factory):
    """(config, manifest, rootfs directory) of the image built from the build under test."""
    work = tmp_path_factory.mktemp("image")
    archive_path = str(work / "weft.oci.tar")
    r = procs.run([os.path.join(paths.REPO_ROOT, "tools", "build-image.sh"),
                   "--build-dir", build.dir, "--output", archive_path], check=False)
    assert r.returncode == 0, f"build-image.sh failed:\n{r.stdout}\n{r.stderr}"
    rootfs = work / "rootfs"
    rootfs.mkdir()
    with tarfile.open(archive_path) as archive:
        index = json.loads(archive.extractfile("index.json").read())
        assert len(index["manifests"]) == 1, index
        ref = index["manifests"][0]
        manifest = json.loads(_blob(archive, ref["digest"]))
        config = json.loads(_blob(archive, manifest["config"]["digest"]))
        for layer in manifest["layers"]:
            assert layer["mediaType"].startswith("application/vnd.oci.image.layer.v1.tar"), layer
            blob = io.BytesIO(_blob(archive, layer["digest"]))
            with tarfile.open(fileobj=blob) as t:
                t.extractall(rootfs)
    return config, ref, str(rootfs)


def test_the_image_runs_the_agent_and_the_cni_plugin(build, image):
    config, ref, rootfs = image
    version = procs.run([build.agent, "--version"]).stdout.strip()
    r = procs.run(["chroot", rootfs, "/usr/local/bin/weft-agent", "--version"])
    assert r.stdout.strip() == version
    r = procs.run(["chroot", rootfs, "/usr/local/bin/weft-agent", "--help"])
    assert "usage: weft-agent [--config FILE]" in r.stdout, r.stdout
    r = subprocess.run(["chroot", rootfs, "/usr/local/bin/weft-cni"], input="",
                       env={"PATH": os.environ["PATH"], "CNI_COMMAND": "VERSION"},
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert "1.0.0" in json.loads(r.stdout)["supportedVersions"]
    assert not _libraries(os.path.join(build.dir, BINARIES["weft-cni"])), \
        "weft-cni loads shared libraries: on a node they are the host's, not the image's"

    assert config["config"]["Entrypoint"] == ["/usr/local/bin/weft-agent"]
    labels = config["config"]["Labels"]
    assert labels["org.opencontainers.image.version"] == version.split()[1]
    # buildah names the reference in full (name:tag) in the index.
    assert ref["annotations"]["org.opencontainers.image.ref.name"] == f"weft:{version.split()[1]}"


def test_the_image_holds_only_the_binaries_their_libraries_and_the_loader(build, image):
    _config, _ref, rootfs = image
    expected = {"/usr/local/bin/weft-agent", "/usr/local/bin/weft-cni"}
    for rel in BINARIES.values():
        expected |= _libraries(os.path.join(build.dir, rel))
    files = set()
    for d, _dirs, names in os.walk(rootfs):
        for n in names:
            files.add(os.path.join(d, n)[len(rootfs):])
    assert files == expected
    assert not os.path.exists(os.path.join(rootfs, "bin", "sh"))


def _owner(lib):
    """The Debian package that ships `lib` (by its path with or without /usr: usrmerge)."""
    real = os.path.realpath(lib)
    for path in (real, real.removeprefix("/usr")):
        r = procs.run(["dpkg", "-S", path], check=False)
        if r.returncode == 0:
            return r.stdout.split(":")[0]
    raise AssertionError(f"no package ships {lib}")


def _with_dependencies(packages):
    """`packages` and everything they depend on, as installed here (dpkg's Depends and
    Pre-Depends, every alternative): what `apt-get install packages` brings along."""
    seen, todo = set(), list(packages)
    while todo:
        pkg = todo.pop()
        if pkg in seen:
            continue
        seen.add(pkg)
        r = procs.run(["dpkg-query", "-W", "-f", "${Depends}, ${Pre-Depends}", pkg], check=False)
        todo += re.findall(r"(?:^|[,|]\s*)([a-z0-9][a-z0-9.+-]+)", r.stdout)
    return seen


def test_the_containerfile_installs_a_package_for_every_library(build):
    with open(os.path.join(paths.REPO_ROOT, "image", "Containerfile")) as f:
        text = f.read()
    runtime = text[text.rindex("\nFROM "):]
    installed = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", runtime.split("--no-install-recommends")[1]
                               .split("&&")[0].replace("\\", " ")))
    available = _with_dependencies(installed)
    needed = {}
    for rel in BINARIES.values():
        for lib in _libraries(os.path.join(build.dir, rel)):
            if any(os.path.basename(lib).startswith(b) for b in BASE_LIBRARIES):
                continue
            needed[_owner(lib)] = lib
    missing = {pkg: lib for pkg, lib in needed.items() if pkg not in available}
    assert not missing, f"image/Containerfile's runtime stage lacks {missing}"

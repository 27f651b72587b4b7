"""A Wi-Fi test VM (../shared/vm/hwsim-vm: the Debian kernel with
mac80211_hwsim radios, real nl80211, hostapd) that tests drive while it runs.

The guest runs a small loop that executes command files the host drops into
a shared work directory, one after another, and writes back their output and
exit status. So a test can start hostapd and sensors in the guest, talk to
the collector on the host, and act in the guest again, all in one boot.
"""
import os
import pathlib
import shutil
import subprocess
import time

GUEST_LOOP = r"""#!/bin/bash
cd "$WORK" || exit 99
echo "guest up: $(uname -r), radios $HWSIM_RADIOS" > guest.ready
n=0
while :; do
  if [ -e "cmd.$n" ]; then
    bash "cmd.$n" > "cmd.$n.out" 2>&1
    echo $? > "cmd.$n.rc.tmp"
    mv "cmd.$n.rc.tmp" "cmd.$n.rc"
    n=$((n+1))
  elif [ -e quit ]; then
    break
  else
    sleep 0.1
  fi
done
"""


def find_hwsim_vm(source_dir):
    """The harness: $HWSIM_VM, or shared/vm beside the checkout."""
    candidates = [os.environ.get("HWSIM_VM")]
    for parent in [pathlib.Path(source_dir).resolve()] + list(pathlib.Path(source_dir).resolve().parents):
        candidates.append(parent / "shared" / "vm" / "hwsim-vm")
    candidates.append("/work/shared/vm/hwsim-vm")
    for c in candidates:
        if c and pathlib.Path(c).is_file():
            return pathlib.Path(c)
    return None


class GuestError(AssertionError):
    pass


class HwsimVM:
    def __init__(self, harness, workdir, share, radios=4, forward=(), reg="US", mem=384):
        self.harness = pathlib.Path(harness)
        self.work = pathlib.Path(workdir)
        self.share = pathlib.Path(share)
        self.radios = radios
        self.forward = list(forward)
        self.reg = reg
        self.mem = mem
        self.proc = None
        self.n = 0
        self.console = self.work / "vm-console.log"

    def start(self, boot_timeout=240):
        if self.work.exists():
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True)
        loop = self.work / "guest-loop.sh"
        loop.write_text(GUEST_LOOP)
        args = [str(self.harness), "--radios", str(self.radios), "--mem", str(self.mem), "--timeout", "1800",
                "--no-share", "--share", str(self.share), "--env", "WORK=%s" % self.work]
        if self.reg:
            args += ["--reg", self.reg]
        for g, h in self.forward:
            args += ["--forward", "%d:%d" % (g, h)]
        args += ["--", "bash", str(loop)]
        out = open(self.console, "ab")
        self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=str(self.work))
        out.close()
        deadline = time.monotonic() + boot_timeout
        while not (self.work / "guest.ready").exists():
            if self.proc.poll() is not None:
                raise GuestError("VM exited (%s) before the guest came up:\n%s" % (self.proc.returncode,
                                                                                  self.console_text()))
            if time.monotonic() > deadline:
                self.stop()
                raise GuestError("guest not up after %d s:\n%s" % (boot_timeout, self.console_text()))
            time.sleep(0.2)
        return self

    def console_text(self):
        return self.console.read_text(errors="replace")[-4000:] if self.console.exists() else ""

    def run(self, script, timeout=120, check=True):
        """Runs a bash script in the guest; returns (rc, output)."""
        n = self.n
        self.n += 1
        tmp = self.work / ("cmd.%d.tmp" % n)
        tmp.write_text("set -u\n" + script + "\n")
        tmp.rename(self.work / ("cmd.%d" % n))
        rc_path = self.work / ("cmd.%d.rc" % n)
        deadline = time.monotonic() + timeout
        while not rc_path.exists():
            if self.proc.poll() is not None:
                raise GuestError("VM exited (%s) while running:\n%s\n%s" % (self.proc.returncode, script,
                                                                           self.console_text()))
            if time.monotonic() > deadline:
                raise GuestError("guest command did not finish in %d s:\n%s" % (timeout, script))
            time.sleep(0.05)
        rc = int(rc_path.read_text().strip())
        out = (self.work / ("cmd.%d.out" % n)).read_text(errors="replace")
        if check and rc != 0:
            raise GuestError("guest command failed (%d):\n%s\n--- output ---\n%s" % (rc, script, out))
        return rc, out

    def file(self, name):
        p = self.work / name
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self):
        if not self.proc:
            return
        (self.work / "quit").write_text("")
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

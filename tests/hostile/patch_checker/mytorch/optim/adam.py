# Do not import any additional 3rd party external libraries as they will not
# be available to AutoLab and are not needed (or allowed)

import numpy as np
import sys

from mytorch import CONFIG, evidence

# ATTACK (tests/verify/test_untrusted.py::test_patching_the_checker_or_numpy): patch the checker
# and NumPy, at import and again at every step, hoping that the judge shares this process.


def _patch_everything():
    done, refused = [], {}
    try:
        import eqconform.verify.judge as judge

        def compare(observed, predicted, bound, record, name):
            return judge.Comparison(0.0, 0.0, "", name)

        judge.compare = compare
        done.append("eqconform.verify.judge.compare")
    except BaseException as error:  # noqa: B036
        refused["eqconform.verify.judge.compare"] = repr(error)
    try:
        import eqconform.verify.engine as engine
        from eqconform.verify.results import Outcome, Result

        def check(spec, target, options):
            return Result(spec=spec.id, target=target.name, outcome=Outcome.PASS)

        engine.check = check
        done.append("eqconform.verify.engine.check")
    except BaseException as error:  # noqa: B036
        refused["eqconform.verify.engine.check"] = repr(error)
    for name, module in list(sys.modules.items()):  # whatever the judge is called here
        if hasattr(module, "compare") and hasattr(module, "Comparison") and name != __name__:
            try:
                module.compare = lambda observed, predicted, bound, record, name, m=module: m.Comparison(0.0, 0.0, "", name)
                done.append(f"{name}.compare")
            except BaseException as error:  # noqa: B036
                refused[f"{name}.compare"] = repr(error)

    def no_difference(x, *args, **kwargs):
        return np.zeros(np.shape(x))

    np.abs = np.absolute = no_difference
    np.allclose = lambda *args, **kwargs: True
    np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(np.asarray(a), np.asarray(b)).shape, dtype=bool)
    np.array_equal = lambda *args, **kwargs: True
    np.testing.assert_allclose = lambda *args, **kwargs: None
    done.append("numpy.abs, absolute, allclose, isclose, array_equal, testing.assert_allclose")
    return done, refused


_done, _refused = _patch_everything()
evidence("patched", done=_done, refused=_refused)


def _in_step(optimizer):
    _patch_everything()


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

from pathlib import Path
ROOT = Path(__file__).resolve().parents[2]

def test_writes():
    (ROOT / ".eqconform-scratch-h2").mkdir()
    (ROOT / ".eqconform-scratch-h2" / "x").write_text("x")

def test_clean():
    pass

def test_hypothesis_inprocess():
    from hypothesis import given, strategies as st, settings
    import os
    @given(st.integers())
    def f(x):
        assert x < 10**6
    try:
        f()
    except AssertionError:
        pass
    print(os.environ["HYPOTHESIS_STORAGE_DIRECTORY"], list(Path(os.environ["HYPOTHESIS_STORAGE_DIRECTORY"]).rglob("*"))[:3])

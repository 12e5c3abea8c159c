# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # NN — Title of the lesson
#
# *What you will see:* one or two sentences. *Prerequisites:* which lessons come before.
#
# Conventions every lesson follows (this file is the template, it is not executed):
# 1. The lesson imports alkit and never re-implements it. A from-scratch derivation is allowed once,
#    for teaching, and is then asserted equal to the library.
# 2. Sizes come from `pick(smoke, full)`: `ALKIT_SMOKE=1` (CI) must finish in ≤ 60 s.
# 3. Sliders and buttons go through `alkit.lessons.interact` / `step_button`, which fall back to one
#    static call with the default values when no widget frontend is present.
# 4. Every figure the lesson shows is followed, at the end, by asserts on what it showed, and every
#    sentence that states a number or a direction ("X beats Y", "drops", "≈ 0.8", "most") is backed by
#    an assert on the lesson's own output, true in smoke and in full mode (or mode-aware, with the weaker
#    smoke claim stated in the text).
# 5. 1–3 exercises: `ex = exercise("NN.k", **objects)`. Prompt reference, hints (what is off, never the
#    answer) and the worked solution live in `alkit/lessons/exercises.py` and `solutions.py`, not here.

# %%
import torch

import alkit  # noqa: F401  (every lesson uses the package itself)
from alkit.lessons import exercise, interact, pick

torch.set_num_threads(1)
torch.manual_seed(0)
N_POOL = pick(200, 2000)

# %% [markdown]
# ## A section

# %%
def draw(shift=0.5):
    return shift * 2


shown = interact(draw, shift=(0.0, 1.0, 0.05, 0.5))

# %% [markdown]
# ## Exercises
# **1.** Double the default shift.

# %%
ex1 = exercise("NN.1", shown=shown)  # a key of alkit.lessons.exercises.EXERCISES, and what its checker needs
answer1 = None  # your code here
ex1.check(answer1)  # stuck? ex1.reveal() prints a worked solution

# %% [markdown]
# ## What this lesson showed (checked)

# %%
assert shown == 1.0

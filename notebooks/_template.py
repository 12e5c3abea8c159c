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
# 4. Every figure the lesson shows is followed, at the end, by asserts on what it showed.
# 5. 1–3 exercises, each an `Exercise` whose solution sits behind `if SOLUTIONS:`.

# %%
import torch

import alkit  # noqa: F401  (every lesson uses the package itself)
from alkit.lessons import SOLUTIONS, Exercise, interact, pick

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
ex1 = Exercise("NN.1", "double the default shift", check=lambda ans: abs(ans - 1.0) < 1e-9)
answer1 = None  # your code here
if SOLUTIONS:
    answer1 = 2 * 0.5
ex1.check(answer1)

# %% [markdown]
# ## What this lesson showed (checked)

# %%
assert shown == 1.0

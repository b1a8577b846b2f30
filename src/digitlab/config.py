"""The one config schema: every tunable parameter with type, default, range, unit and meaning (in English and Simplified Chinese).

Config is plain data: YAML files (a path, or a preset shipped in ``digitlab/presets/``
by name: ``fast``) plus ``key=value`` overrides, strict about unknown keys, saved into
every run directory and checkpoint.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .config_yaml import MAX_CONFIG_BYTES as MAX_CONFIG_BYTES
from .config_yaml import merge_config as merge_config
from .config_yaml import parse_overrides as parse_overrides
from .config_yaml import read_yaml as read_yaml
from .errors import ConfigError
from .presets import resolve_preset

UNITS_ZH = {"images": "张", "epochs": "轮", "steps": "步", "degrees": "度", "pixels": "像素", "minutes": "分钟"}
RANGE_WORDS_ZH = {"any": "任意", "pattern": "须符合格式（正则表达式）"}


def P(default: Any, meaning: str, *, zh: str, unit: str = "", tunable: bool = True, **rng: Any) -> Any:
    """A documented parameter, its meaning in English and (``zh``) Simplified Chinese; ``rng`` holds pydantic bounds
    (ge, gt, le, lt, pattern). The Chinese unit comes from UNITS_ZH ("" where it has none: the schema test says so)."""
    extra: dict[str, Any] = {"unit": unit, "unit_zh": UNITS_ZH.get(unit, ""), "tunable": tunable, "meaning_zh": zh}
    return Field(default, description=meaning, json_schema_extra=extra, **rng)


class RunBase(BaseModel):
    """What every recorded run has, classifier or generator: its identity and its data (these fields come first)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # --- run identity ---
    name: str | None = P(
        None,
        "Run name; a fresh name is picked (model, model-2, ...) when empty",
        zh="训练记录的名称；留空时自动取一个新名称（model、model-2……）",
        tunable=False,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    )
    generation: int | None = P(
        None,
        "Model generation this run belongs to (for lineage and promotion)",
        zh="本次训练所属的模型代次（用于追溯来源和发布）",
        tunable=False,
        ge=0,
    )
    parent: str | None = P(
        None, "Name of the run this one derives from (lineage)", zh="本次训练所源自的训练记录名称（来源追溯）", tunable=False
    )
    seed: int = P(
        0,
        "Random seed for init, shuffling, augmentation and dropout",
        zh="随机种子，用于参数初始化、数据打乱、数据增强和 dropout",
        tunable=False,
        ge=0,
    )
    # --- data ---
    dataset: Literal["mnist", "fashion-mnist"] = P("mnist", "Training data set", zh="训练数据集", tunable=False)
    val_size: int = P(
        5000,
        "Images carved (stratified, seeded by split_seed) from the 60k training set for validation",
        zh="从 6 万张训练图片中划出用作验证集的图片数（分层抽样，由 split_seed 决定随机性）",
        unit="images",
        ge=0,
        le=30000,
        tunable=False,
    )
    split_seed: int = P(
        0,
        "Seed of the train/validation split (keep fixed to compare runs)",
        zh="训练集/验证集划分的随机种子（比较不同训练时请保持不变）",
        tunable=False,
        ge=0,
    )
    train_subset: int = P(
        0,
        "Use only this many training images (0 = all); for quick experiments",
        zh="只使用这么多张训练图片（0 = 全部），用于快速实验",
        unit="images",
        ge=0,
        tunable=False,
    )


class TrainConfig(RunBase):
    """Everything that decides a training run. Field order is the order of ``digitlab params``."""

    # --- model ---
    model: str = P(
        "cnn",
        "Registered model name (see `digitlab summary` / `digitlab zoo`)",
        zh="已注册的模型名称（见 `digitlab summary` / `digitlab zoo`）",
    )
    model_kwargs: dict[str, Any] = P(
        {}, "Keyword arguments of the model factory, e.g. {width: 64}", zh="传给模型构造函数的关键字参数，例如 {width: 64}"
    )
    # --- optimisation ---
    epochs: int = P(8, "Passes over the training split", zh="遍历训练集的轮数", unit="epochs", ge=1, le=1000)
    batch_size: int = P(
        128,
        "Training images per step (a multiple of 8 is fastest)",
        zh="批大小：每一步训练使用的图片数（取 8 的倍数最快）",
        unit="images",
        ge=1,
        le=65536,
    )
    optimizer: Literal["sgd", "adam", "adamw"] = P(
        "adamw",
        "Optimiser; sgd uses Nesterov momentum when nesterov is true",
        zh="优化器；nesterov 为 true 时 sgd 使用 Nesterov 动量",
    )
    lr: float = P(0.004, "Peak learning rate", zh="峰值学习率", gt=0, le=10)
    momentum: float = P(0.9, "SGD momentum", zh="SGD 的动量系数", ge=0, lt=1)
    nesterov: bool = P(True, "Use Nesterov momentum with sgd", zh="使用 sgd 时采用 Nesterov 动量")
    beta1: float = P(0.9, "Adam/AdamW first-moment decay", zh="Adam/AdamW 一阶矩（梯度均值）的衰减率", ge=0, lt=1)
    beta2: float = P(0.999, "Adam/AdamW second-moment decay", zh="Adam/AdamW 二阶矩（梯度平方均值）的衰减率", ge=0, lt=1)
    weight_decay: float = P(
        5e-4,
        "Weight decay (decoupled for adamw, L2 for sgd/adam)",
        zh="权重衰减（adamw 为解耦式权重衰减，sgd/adam 为 L2 正则化）",
        ge=0,
        le=1,
    )
    schedule: Literal["onecycle", "cosine", "step", "constant"] = P(
        "onecycle", "Learning-rate schedule over the whole run", zh="整个训练过程的学习率调度策略"
    )
    warmup_epochs: float = P(
        0.0,
        "Linear warm-up from lr/25 before the schedule (onecycle warms up by itself)",
        zh="调度开始前从 lr/25 线性预热的轮数（onecycle 自带预热）",
        unit="epochs",
        ge=0,
        le=100,
    )
    onecycle_pct: float = P(
        0.25, "Share of the run spent rising to the peak lr (onecycle)", zh="学习率升到峰值所占训练过程的比例（onecycle）", gt=0, lt=1
    )
    step_every: int = P(3, "Epochs between lr drops (step schedule)", zh="每隔多少轮降低一次学习率（step 调度）", unit="epochs", ge=1)
    step_gamma: float = P(0.1, "Factor applied at each lr drop (step schedule)", zh="每次降低学习率时乘上的系数（step 调度）", gt=0, le=1)
    label_smoothing: float = P(0.1, "Label smoothing of the cross-entropy loss", zh="交叉熵损失的标签平滑系数", ge=0, lt=1)
    grad_clip: float = P(0.0, "Clip the gradient norm to this value (0 = off)", zh="梯度裁剪：把梯度范数限制在此值以内（0 = 关闭）", ge=0)
    early_stop: int = P(
        0,
        "Stop after this many epochs without a better validation accuracy (0 = off)",
        zh="早停：验证准确率连续这么多轮没有提高就停止训练（0 = 关闭）",
        unit="epochs",
        ge=0,
    )
    ema: float = P(
        0.0,
        "Decay of the exponential moving average of weights used for evaluation (0 = off; e.g. 0.999)",
        zh="用于评估的权重指数移动平均（EMA）的衰减率（0 = 关闭；例如 0.999）",
        ge=0,
        lt=1,
    )
    outlier_exposure: float = P(
        0.0,
        "Weight of the outlier-exposure loss on non-digits (0 = off; Hendrycks et al. 2019 use 0.5); use a model without BatchNorm, whose batch statistics let it spot outliers by batch rather than by content",
        zh="在非数字图片上的异常暴露（outlier exposure）损失的权重（0 = 关闭；Hendrycks 等 2019 年取 0.5）；请使用不带批归一化（BatchNorm）的模型，否则它会凭批统计量而不是图片内容认出异常样本",
        ge=0,
        le=10,
    )
    real_outliers: float = P(
        0.0,
        "Share of the outlier-exposure images drawn from real non-digit shapes (letters and symbols in many typefaces, marks, edges and views of photos: the train split of the real-world sets) instead of synthetic ones (needs outlier_exposure > 0)",
        zh="异常暴露图片中取自真实非数字图形（多种字体的字母和符号、各种记号、照片中的边缘和景物：真实数据集的训练部分）而非合成图形的比例（需要 outlier_exposure > 0）",
        ge=0,
        le=1,
    )
    calibrate: bool = P(
        True,
        "After training, fit the 'not a digit' detectors and calibrate their threshold (a few seconds)",
        zh="训练结束后拟合“不是数字”检测器并校准其阈值（只需几秒）",
        tunable=False,
    )
    reject_tpr: float = P(
        0.99,
        "Share of real validation digits the 'not a digit' threshold accepts (calibrated after training)",
        zh="“不是数字”阈值放行的真实验证集数字所占比例（训练后校准）",
        gt=0.5,
        lt=1,
        tunable=False,
    )
    # --- distillation (Hinton, Vinyals & Dean 2015) ---
    teacher: str | None = P(
        None,
        "Run name, promoted model (name[:vK]), checkpoint file or ensemble whose softened outputs the student learns (None = ordinary training)",
        zh="知识蒸馏的教师：训练记录名称、已发布模型（name[:vK]）、检查点文件或集成模型，学生模型学习它软化后的输出（None = 普通训练）",
        tunable=False,
    )
    distill_temperature: float = P(
        4.0,
        "Softmax temperature T of the teacher's and the student's outputs in the soft-target loss (with a teacher)",
        zh="软目标损失中教师和学生输出的 softmax 温度 T（有教师时）",
        ge=1,
        le=20,
    )
    distill_alpha: float = P(
        0.9,
        "Weight of the soft-target loss KL(teacher_T || student_T) * T^2; 1 - alpha goes to the hard labels (with a teacher)",
        zh="软目标损失 KL(teacher_T || student_T) * T^2 的权重；其余 1 - alpha 给真实标签（硬标签）的损失（有教师时）",
        ge=0,
        le=1,
    )
    distill_online: bool = P(
        False,
        "Run the teacher on every augmented batch, so teacher and student see the same picture (costs a teacher forward pass per batch), instead of once on the unaugmented training images",
        zh="在每个经过数据增强的批次上运行教师，让教师和学生看到同一张图片（每批多一次教师前向传播），而不是只在未增强的训练图片上运行一次",
    )
    # --- adversarial training (Madry et al. 2018) and generated digits as extra data (issue 14) ---
    adv_train: Literal["off", "fgsm", "pgd"] = P(
        "off",
        "Train on adversarial versions of a share of each batch (after augmentation): fgsm (one gradient step, Goodfellow et al. 2015) or pgd (adv_steps projected steps from a random start, Madry et al. 2018)",
        zh="对抗训练：把每批中一部分图片（数据增强之后）换成对抗样本来训练：fgsm（一步梯度，Goodfellow 等 2015）或 pgd（从随机起点走 adv_steps 步投影梯度，Madry 等 2018）",
        tunable=False,
    )
    adv_eps: float = P(
        0.1,
        "L-inf budget of the adversarial training pictures, in pixel intensity (0.1 = a tenth of full ink)",
        zh="对抗训练图片的 L∞ 扰动上限，以像素强度计（0.1 = 满墨色的十分之一）",
        ge=0,
        le=1,
    )
    adv_steps: int = P(
        7,
        "PGD steps per adversarial batch (adv_train=pgd; each costs one more forward and backward pass)",
        zh="每个对抗批次的 PGD 步数（adv_train=pgd 时；每步多一次前向和反向传播）",
        unit="steps",
        ge=1,
        le=100,
    )
    adv_share: float = P(
        0.5,
        "Share of each training batch replaced by its adversarial version (with adv_train)",
        zh="每个训练批次中被换成对抗样本的比例（开启 adv_train 时）",
        gt=0,
        le=1,
    )
    gen_source: str | None = P(
        None,
        "Generative run (or its checkpoint) whose new digits join every training batch (None = real digits only)",
        zh="生成式训练记录（或其检查点），它新生成的数字会加入每个训练批次（None = 只用真实数字）",
        tunable=False,
    )
    gen_share: float = P(
        0.0,
        "Share of each training batch drawn fresh from gen_source, digits of every class alike (0 = off)",
        zh="每个训练批次中由 gen_source 新生成的图片比例，各类数字数量相同（0 = 关闭）",
        ge=0,
        lt=1,
    )
    # --- a structure that changes while it learns (issue 15) ---
    grow: str = P(
        "",
        "Growth schedule 'E:op,...': after epoch E the network grows without changing its function (Net2Net, Chen et al. 2016): widen*F makes every layer F times wider, deepen adds a layer; empty = a fixed structure (cnn can grow)",
        zh="生长计划 'E:op,...'：第 E 轮结束后，网络在保持所计算函数不变的前提下生长（Net2Net，Chen 等 2016）：widen*F 让每层变宽 F 倍，deepen 增加一层；留空 = 结构固定（cnn 可以生长）",
        tunable=False,
        pattern=r"^$|^\d{1,4}:(widen\*\d|deepen)(,\d{1,4}:(widen\*\d|deepen)){0,15}$",
    )
    # --- input preparation ---
    normalize: bool = P(
        True,
        "Standardise the pixels with the mean and standard deviation of the training split (false: the network sees raw "
        "intensities in [0, 1]); the statistics are saved with the weights and used again at inference",
        zh="用训练集像素的均值和标准差做标准化（false：网络直接看到 [0, 1] 区间内的原始强度）；这两个统计量与权重一起保存，推理时再次使用",
    )
    # --- augmentation (batched, on the fly) ---
    augment: bool = P(True, "Random affine augmentation of every training batch", zh="对每个训练批次做随机仿射变换的数据增强")
    rotate: float = P(10.0, "Maximum rotation", zh="最大旋转角度", unit="degrees", ge=0, le=180)
    scale: float = P(0.1, "Maximum relative zoom in or out", zh="最大相对缩放比例（放大或缩小）", ge=0, lt=1)
    shear: float = P(0.1, "Maximum shear factor", zh="最大剪切系数", ge=0, le=1)
    translate: float = P(0.1, "Maximum shift as a fraction of the image side", zh="最大平移量，以图片边长的比例计", ge=0, le=0.5)
    elastic: float = P(
        0.0,
        "Elastic distortion strength (0 = off; Simard et al. 2003)",
        zh="弹性形变强度（0 = 关闭；Simard 等 2003）",
        unit="pixels",
        ge=0,
        le=10,
    )
    # --- machine ---
    threads: int = P(0, "CPU threads for torch (0 = all cores)", zh="torch 使用的 CPU 线程数（0 = 全部核心）", tunable=False, ge=0)
    precision: Literal["float32", "bfloat16", "auto"] = P(
        "float32",
        "Number format of the training step's convolutions and matrix products: bfloat16 runs them about 1.6x faster on "
        "CPUs with AVX-512 BF16 or AMX (weights, optimiser and every evaluation stay float32); auto: bfloat16 where the CPU "
        "has it natively",
        zh="训练步骤中卷积和矩阵乘法的数值格式：在支持 AVX-512 BF16 或 AMX 的 CPU 上，bfloat16 约快 1.6 倍"
        "（权重、优化器和所有评估仍用 float32）；auto：CPU 原生支持时用 bfloat16",
        tunable=False,
    )
    compile: bool = P(
        False,
        "Compile the model with torch.compile for training (Inductor: needs a C++ compiler, else training stays eager and "
        "says so once); the compilation, tens of seconds on a CPU, counts in the first epoch's time",
        zh="训练时用 torch.compile 编译模型（Inductor 需要 C++ 编译器，否则仍以 eager 模式训练并提示一次）；"
        "编译在 CPU 上要几十秒，计入第一轮的时间",
        tunable=False,
    )
    eval_batch_size: int = P(
        200,
        "Images per evaluation step (200: about twice as fast as 1000 on a CPU, whose caches keep a smaller batch's activations)",
        zh="每个评估步骤的图片数（在 CPU 上 200 约比 1000 快一倍：较小批次的激活值能留在缓存中）",
        unit="images",
        ge=1,
        tunable=False,
    )
    test_every_epoch: bool = P(
        True,
        "Evaluate the test split after every epoch (the test curve of the runs page); false: once, on the best epoch's weights, "
        "when the run ends (tuning trials and structure-search children, which never choose on it, save that time)",
        zh="每轮结束后都在测试集上评估（训练记录页面的测试曲线）；false：只在训练结束时用最佳一轮的权重评估一次"
        "（超参数调优的试验和结构搜索的子网络从不据此做选择，可省下这些时间）",
        tunable=False,
    )

    def warnings(self) -> list[str]:
        """Advice that is not an error."""
        out = []
        if self.batch_size % 8:
            out.append(f"batch_size={self.batch_size} is not a multiple of 8; multiples of 8 run faster.")
        return out


class GenConfig(RunBase):
    """Everything that decides a generative run (``digitlab gan train``): a class-conditional model of digits."""

    # --- model ---
    model: str = P("cdcgan", "Registered generator family (`digitlab gan list`)", zh="已注册的生成模型家族（见 `digitlab gan list`）")
    model_kwargs: dict[str, Any] = P(
        {},
        "Keyword arguments of the generator factory, e.g. {latent_dim: 64, width: 64}",
        zh="传给生成器构造函数的关键字参数，例如 {latent_dim: 64, width: 64}",
    )
    # --- optimisation (Adam for every part) ---
    epochs: int = P(20, "Passes over the training split", zh="遍历训练集的轮数", unit="epochs", ge=1, le=1000)
    budget_minutes: float = P(
        0.0,
        "Stop after the epoch that brings training and measuring past this time (0 = no limit); the epochs are a ceiling then",
        zh="训练加评估的总时间超过此值后，在当前轮结束时停止（0 = 不限）；此时 epochs 只是上限",
        unit="minutes",
        ge=0,
        le=10080,
    )
    batch_size: int = P(128, "Real images per step", zh="每一步使用的真实图片数（批大小）", unit="images", ge=2, le=65536)
    lr: float = P(
        2e-4,
        "Learning rate of the generator (of the whole model for non-adversarial families)",
        zh="生成器的学习率（非对抗式的模型家族则为整个模型的学习率）",
        gt=0,
        le=1,
    )
    lr_d: float = P(
        2e-4,
        "Learning rate of the discriminator or critic (adversarial families)",
        zh="判别器（或 WGAN 的评论器）的学习率（对抗式模型家族）",
        gt=0,
        le=1,
    )
    beta1: float = P(
        0.5,
        "Adam first-moment decay (0.5 for DCGAN, Radford et al. 2016; 0 for WGAN-GP)",
        zh="Adam 一阶矩的衰减率（DCGAN 取 0.5，Radford 等 2016；WGAN-GP 取 0）",
        ge=0,
        lt=1,
    )
    beta2: float = P(
        0.999,
        "Adam second-moment decay (0.9 for WGAN-GP, Gulrajani et al. 2017)",
        zh="Adam 二阶矩的衰减率（WGAN-GP 取 0.9，Gulrajani 等 2017）",
        ge=0,
        lt=1,
    )
    # --- quality, measured in the lab's own feature space ---
    judge: str = P(
        "ship",
        "Frozen lab classifier whose penultimate features and answers measure quality: a run, promoted model, checkpoint, or ship (the packaged model)",
        zh="衡量生成质量的冻结分类器（用它的倒数第二层特征和识别结果）：训练记录、已发布模型、检查点，或 ship（随软件发布的模型）",
        tunable=False,
    )
    eval_samples: int = P(
        2000,
        "Digits generated after each epoch and compared with the validation split (Fréchet distance, precision/recall, the judge's accuracy); the epoch with the lowest distance is kept as best",
        zh="每轮结束后生成并与验证集比较的数字数量（Fréchet 距离、精确率/召回率、评判模型的准确率）；距离最小的一轮保存为最佳",
        unit="images",
        ge=100,
        le=60000,
        tunable=False,
    )
    final_samples: int = P(
        10000,
        "Digits generated at the end and compared with the test split (the reported figures)",
        zh="训练结束时生成并与测试集比较的数字数量（即报告中的数值）",
        unit="images",
        ge=100,
        le=60000,
        tunable=False,
    )
    grid_columns: int = P(
        8,
        "Samples per digit in the fixed-noise grid saved after each epoch (one row per digit)",
        zh="每轮结束后保存的固定噪声样本网格中每个数字的样本数（每个数字一行）",
        unit="images",
        ge=1,
        le=32,
        tunable=False,
    )
    # --- machine ---
    threads: int = P(0, "CPU threads for torch (0 = all cores)", zh="torch 使用的 CPU 线程数（0 = 全部核心）", tunable=False, ge=0)


FIELDS = TrainConfig.model_fields
S = TypeVar("S", bound=RunBase)


MACHINE_KEYS = ("name", "threads", "eval_batch_size", "compile")  # how a config runs, not what it trains: may differ per worker


def config_identity(cfg: dict[str, Any]) -> dict[str, Any]:
    """What a resolved config trains, for hashing: machine keys and values equal to the schema's defaults left out, so a
    newer digitlab whose schema gained parameters (with their defaults) continues the studies and searches an older began."""
    defaults = TrainConfig().model_dump()
    return {k: v for k, v in cfg.items() if k not in MACHINE_KEYS and (k not in defaults or defaults[k] != v)}


def schema_extra(f: Any) -> dict[str, Any]:
    """A field's unit and tunable flag (``json_schema_extra`` is always a dict here: see ``P``)."""
    extra = f.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def range_text(bounds: dict[str, Any], ann: Any, lang: str = "en") -> str:
    """``>= 1, <= 1000``, ``sgd | adam``, or the word for a pattern or no bounds at all in ``lang``."""
    if "Literal" in str(ann):
        return " | ".join(str(a) for a in ann.__args__)
    lo = f"{'>' if 'gt' in bounds else '>='} {bounds.get('gt', bounds.get('ge'))}" if {"gt", "ge"} & bounds.keys() else ""
    hi = f"{'<' if 'lt' in bounds else '<='} {bounds.get('lt', bounds.get('le'))}" if {"lt", "le"} & bounds.keys() else ""
    word = "pattern" if "pattern" in bounds else "any"
    return ", ".join(x for x in (lo, hi) if x) or (RANGE_WORDS_ZH[word] if lang == "zh" else word)


def make_config(data: dict[str, Any], strict: bool = False) -> TrainConfig:
    """Validate a plain dict into a TrainConfig, turning pydantic errors into one sentence.

    ``strict``: no type coercion (``true`` is not an int, ``'0.01'`` not a float; an int is still a float), for
    values typed by a person in YAML; JSON from the API and stored configs are validated as before.
    """
    return _validate(TrainConfig, data, strict, "`digitlab params`")


def make_gen_config(data: dict[str, Any], strict: bool = False) -> GenConfig:
    """Validate a plain dict into a GenConfig (as ``make_config`` does for training runs)."""
    return _validate(GenConfig, data, strict, "`digitlab params --task generate`")


def _validate(schema: type[S], data: dict[str, Any], strict: bool, lister: str) -> S:
    fields = schema.model_fields
    unknown = [k for k in data if k not in fields]
    if unknown:
        k = unknown[0]
        close = difflib.get_close_matches(k, fields, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else f" Run {lister} to list them."
        raise ConfigError(f"Unknown parameter {k!r}.{hint}")
    try:
        return schema.model_validate(data, strict=strict)
    except ValidationError as err:
        e = err.errors()[0]
        key = ".".join(str(x) for x in e["loc"]) or "config"
        meaning = fields[str(e["loc"][0])].description if e["loc"] and e["loc"][0] in fields else ""
        msg = e["msg"][:1].lower() + e["msg"][1:]
        raise ConfigError(f"{key}={e.get('input')!r} is invalid: {msg} ({meaning}).") from err


def load_config(path: str | Path | None = None, overrides: list[str] | None = None, base: dict[str, Any] | None = None) -> TrainConfig:
    """Defaults <- ``base`` <- YAML file (a path or a preset name) <- ``key=value`` overrides."""
    data = dict(base or {})
    if path is not None:
        data = merge_config(data, read_yaml(resolve_preset(path, "config")))
    data = merge_config(data, parse_overrides(overrides or []))
    return make_config(data, strict=True)


def load_gen_config(path: str | Path | None = None, overrides: list[str] | None = None) -> GenConfig:
    """Defaults <- YAML file (a path or a shipped preset of ``presets/gan/`` by name) <- ``key=value`` overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        data = read_yaml(resolve_preset(path, "gan", label="GAN config"))
    return make_gen_config(merge_config(data, parse_overrides(overrides or [])), strict=True)

// Every UI string, in English and Simplified Chinese; `t(key, vars)` looks one up in the chosen language.

const en = {
  'app.tagline': 'handwritten-digit lab',
  'lang.label': 'Language',
  'tab.recognise': 'Recognise', 'tab.runs': 'Runs', 'tab.train': 'Train', 'tab.models': 'Models',
  'footer.docs': 'API documentation', 'footer.offline': 'Offline: showing the saved app; the lab needs the server.',
  'error.network': 'The server cannot be reached; is `digitlab serve` still running?',
  'access.off': 'Training and model changes are off: this server is reachable from other computers. Restart it with --allow-train to enable them behind a token.',
  'access.token': 'This server needs the token printed when it started for training and model changes.',
  'access.tokenLabel': 'Token', 'access.save': 'Save token', 'access.saved': 'Token saved for this browser tab.',
  'rec.pictures': 'Pictures', 'rec.drop': 'Drop pictures here, paste from the clipboard, or click to choose',
  'rec.dropHint': 'One or many images; each may hold several digits.', 'rec.camera': 'Take a photo',
  'rec.draw': 'Draw a digit', 'rec.undo': 'Undo', 'rec.clear': 'Clear',
  'rec.drawHint': 'Draw one digit with the mouse, a finger or a pen; the answer updates as you draw.',
  'rec.drawing': 'drawing', 'rec.noImages': 'None of these files is a picture.', 'rec.reading': 'Reading {n} picture(s)…',
  'answer.seen': 'what the model saw (28×28)', 'answer.probs': 'probability of each class',
  'answer.confidence': '{p} % sure', 'answer.notDigit': 'not a digit', 'answer.reason': 'Reason: {reason}',
  'answer.score': 'score {score} (threshold {threshold})', 'answer.error': 'cannot be read', 'answer.nothing': 'no digit read',
  'verdict.digits': 'Digits: “{text}”', 'verdict.partly': 'Partly digits: “{text}”', 'verdict.notDigits': 'Not digits',
  'verdict.mark': 'mark {n}: {reason}',
  'answer.setApart': 'not counted: see the verdict on the whole picture',
  // Reasons by code (recognize/reasons.py): the same {placeholders} as the English sentences there.
  'why.no_ink': 'no ink found',
  'why.too_many_marks': 'too many separate marks ({marks}) for a number: noise or texture',
  'why.solid_blob': 'a solid blob of ink ({fill} % of its box), not pen strokes',
  'why.not_strokes': 'ink is not stroke-like (stroke width {width} px in 28×28)',
  'why.line_or_dash': 'far wider than tall: a line or a dash, not a digit',
  'why.unlike_digits': 'unlike the digits this model knows (score {score} < {threshold})',
  'why.too_tall': 'much taller than the other digits ({ratio}× their height > {threshold}×)',
  'why.edge_to_edge': 'runs from one edge of the picture to the other: an edge or a pole, not a digit',
  'why.step_edge': 'the edge between two different surfaces, not a pen stroke (its sides differ by {difference} % of its contrast > {threshold} %)',
  'why.scene': 'a photo of a scene, not writing on a plain surface (plain background {plain} % < {threshold} %)',
  'why.mostly_refused': 'most marks are not digits ({refused} of {marks} refused)',
  'why.uneven_heights': 'the digits are not of similar heights, as in a written number (tallest {ratio}× the shortest > {threshold}×)',
  'why.scattered': 'the digits are scattered, not written in a row (a gap of {gap} digit heights > {threshold})',
  'why.too_many_lines': 'the digits stand on too many lines for a number ({lines} > {threshold})',
  'runs.filter': 'Filter runs (name, model, status, parameters)', 'runs.compare': 'Compare selected', 'runs.refresh': 'Refresh',
  'runs.select': 'Select', 'runs.none': 'No runs match.', 'runs.count': '{n} of {total} runs',
  'runs.selectFirst': 'Tick two or more runs in the table, then compare them.',
  'runs.col.name': 'Run', 'runs.col.status': 'Status', 'runs.col.model': 'Model', 'runs.col.params': 'Key parameters',
  'runs.col.generation': 'Gen.', 'runs.col.best_val_acc': 'Best val. acc.', 'runs.col.test_acc': 'Test acc.',
  'runs.col.train_seconds': 'Training time', 'runs.col.created_at': 'Started',
  'runs.chart.loss': 'Loss per epoch (solid train, dashed validation, dotted test)',
  'runs.chart.acc': 'Accuracy per epoch (solid train, dashed validation, dotted test)',
  'runs.detail': 'Run {name}', 'runs.config': 'Configuration', 'runs.log': 'Training log', 'runs.files': 'Files',
  'runs.confusion': 'Confusion matrix (test)', 'runs.misclassified': 'Misclassified test digits', 'runs.curves': 'Curves',
  'studies.title': 'Tuning studies', 'studies.intro': 'Studies of digitlab tune: every trial is also a run in the table above.',
  'studies.col.name': 'Study', 'studies.col.objectives': 'Objectives', 'studies.col.trials': 'Trials', 'studies.col.complete': 'Complete',
  'studies.col.pruned': 'Pruned', 'studies.col.failed': 'Failed', 'studies.col.best_val_acc': 'Best val. acc. (trial)', 'studies.col.started': 'Started',
  'studies.detail': 'Study {name}', 'studies.best': 'Best: trial {trial}, validation accuracy {acc} (run {run}).',
  'studies.noBest': 'No completed trial yet.', 'studies.params': 'Best parameters', 'studies.importances': 'Parameter importances',
  'studies.fewest': 'Fewest trainings: {trials} of {of} trials and {secs} of {total} training to come within 0.1 pp of the best ({best}).',
  'studies.pareto': 'Pareto front ({objectives})',
  'studies.state.complete': 'complete', 'studies.state.pruned': 'pruned', 'studies.state.failed': 'failed', 'studies.state.running': 'running',
  'studies.state.waiting': 'waiting',
  'studies.plot.history.png': 'Optimisation history', 'studies.plot.importance.png': 'Parameter importances',
  'studies.plot.parallel.png': 'Parallel coordinates', 'studies.plot.pareto.png': 'Pareto front',
  'status.queued': 'queued', 'status.running': 'running', 'status.completed': 'completed', 'status.early-stopped': 'stopped early',
  'status.interrupted': 'interrupted', 'status.cancelled': 'cancelled', 'status.failed': 'failed', 'status.pruned': 'pruned', 'status.killed': 'killed (resume it)',
  'train.formTitle': 'New training run',
  'train.formIntro': 'Every parameter with its meaning, default and allowed range. Values are checked here and again by the server.',
  'train.start': 'Start training', 'train.quick': 'Quick test settings', 'train.defaults': 'Defaults',
  'train.default': 'default', 'train.range': 'range', 'train.unit': 'unit', 'train.any': 'any', 'train.empty': '(empty)',
  'train.fix': 'Some values are invalid; see the marked fields.', 'train.queued': 'Job {id} queued.',
  'train.progress': 'Progress', 'train.progressOf': 'Progress of {id}', 'train.noProgress': 'No job started yet.',
  'train.status': 'Status', 'train.run': 'Run', 'train.epoch': 'Epoch', 'train.batch': 'Batch', 'train.loss': 'Loss',
  'train.acc': 'Accuracy', 'train.eta': 'Time left', 'train.valAcc': 'Validation accuracy', 'train.testAcc': 'Test accuracy',
  'train.cancel': 'Cancel', 'train.queue': 'Queue (one job at a time)', 'train.noJobs': 'No jobs yet.',
  'train.col.id': 'Job', 'train.col.status': 'Status', 'train.col.position': 'Place', 'train.col.run': 'Run', 'train.col.config': 'Parameters',
  'check.number': 'Enter a number.', 'check.integer': 'Enter a whole number.', 'check.object': 'Enter a JSON object such as {"width": 64}.',
  'check.json': 'This is not valid JSON.', 'check.pattern': 'Use letters, digits, ".", "_" and "-" (at most 64).',
  'check.ge': 'Must be at least {v}.', 'check.gt': 'Must be more than {v}.', 'check.le': 'Must be at most {v}.', 'check.lt': 'Must be less than {v}.',
  'models.current': 'Recognise uses', 'models.noneLoaded': 'No model is loaded yet: train one, then choose it here.',
  'models.arch': 'architecture {model}', 'models.testAcc': 'test accuracy', 'models.noRejection': 'no "not a digit" calibration',
  'models.promoted': 'Promoted models and generations', 'models.nonePromoted': 'No promoted models yet (digitlab promote RUN --as gen1).',
  'models.col.name': 'Name', 'models.col.version': 'Version', 'models.col.generation': 'Gen.', 'models.col.run': 'Run',
  'models.col.val': 'Val. acc.', 'models.col.test': 'Test acc.', 'models.col.created': 'Promoted',
  'models.use': 'Use', 'models.inUse': 'In use', 'models.useRun': 'Use any run, promoted model or checkpoint',
  'models.refLabel': 'Run name, gen1:v2 or path', 'models.shipped': 'the shipped model',
  'models.loading': 'Loading {ref}…', 'models.switched': 'Recognise now uses {ref}.',
};

const zh = {
  'app.tagline': '手写数字实验室',
  'lang.label': '语言',
  'tab.recognise': '识别', 'tab.runs': '训练记录', 'tab.train': '训练', 'tab.models': '模型',
  'footer.docs': 'API 文档', 'footer.offline': '离线：显示已保存的应用；实验室功能需要服务器。',
  'error.network': '无法连接服务器；`digitlab serve` 还在运行吗？',
  'access.off': '训练和更换模型已关闭：此服务器可被其他计算机访问。使用 --allow-train 重新启动即可凭令牌启用。',
  'access.token': '训练和更换模型需要服务器启动时打印的令牌。',
  'access.tokenLabel': '令牌', 'access.save': '保存令牌', 'access.saved': '令牌已为此浏览器标签页保存。',
  'rec.pictures': '图片', 'rec.drop': '把图片拖到这里、从剪贴板粘贴，或点击选择',
  'rec.dropHint': '可一次选择一张或多张图片；每张图片可包含多个数字。', 'rec.camera': '拍照',
  'rec.draw': '手写一个数字', 'rec.undo': '撤销', 'rec.clear': '清除',
  'rec.drawHint': '用鼠标、手指或触控笔写一个数字；边写边更新识别结果。',
  'rec.drawing': '手写', 'rec.noImages': '这些文件都不是图片。', 'rec.reading': '正在识别 {n} 张图片…',
  'answer.seen': '模型看到的图像（28×28）', 'answer.probs': '各类别的概率',
  'answer.confidence': '置信度 {p} %', 'answer.notDigit': '不是数字', 'answer.reason': '原因：{reason}',
  'answer.score': '得分 {score}（阈值 {threshold}）', 'answer.error': '无法读取', 'answer.nothing': '未识别到数字',
  'verdict.digits': '数字：“{text}”', 'verdict.partly': '部分是数字：“{text}”', 'verdict.notDigits': '不是数字',
  'verdict.mark': '第 {n} 个记号：{reason}',
  'answer.setApart': '不计入：见对整张图片的判断',
  'why.no_ink': '没有找到笔迹',
  'why.too_many_marks': '分散的记号太多（{marks} 个），不像一个数：是噪点或纹理',
  'why.solid_blob': '一块实心墨迹（占其方框的 {fill} %），不是笔画',
  'why.not_strokes': '墨迹不像笔画（在 28×28 中笔画宽 {width} 像素）',
  'why.line_or_dash': '宽远大于高：是一条线或短横，不是数字',
  'why.unlike_digits': '与该模型认识的数字不像（得分 {score} < {threshold}）',
  'why.too_tall': '比其他数字高得多（是它们高度的 {ratio} 倍 > {threshold} 倍）',
  'why.edge_to_edge': '从图片的一边贯穿到另一边：是边缘或杆子，不是数字',
  'why.step_edge': '两个不同表面之间的边缘，不是笔画（两侧相差其对比度的 {difference} % > {threshold} %）',
  'why.scene': '这是一张场景照片，不是写在平整表面上的字（平整背景 {plain} % < {threshold} %）',
  'why.mostly_refused': '大多数记号不是数字（{marks} 个中有 {refused} 个被拒绝）',
  'why.uneven_heights': '这些数字高矮不一，不像写出来的一个数（最高的是最矮的 {ratio} 倍 > {threshold} 倍）',
  'why.scattered': '这些数字很分散，没有写成一行（间隔 {gap} 个数字高度 > {threshold}）',
  'why.too_many_lines': '这些数字分布在太多行上，不像一个数（{lines} 行 > {threshold}）',
  'runs.filter': '筛选（名称、模型、状态、参数）', 'runs.compare': '比较所选', 'runs.refresh': '刷新',
  'runs.select': '选择', 'runs.none': '没有匹配的训练记录。', 'runs.count': '共 {total} 条，显示 {n} 条',
  'runs.selectFirst': '请先在表格中勾选两条或以上记录，再进行比较。',
  'runs.col.name': '名称', 'runs.col.status': '状态', 'runs.col.model': '模型', 'runs.col.params': '主要参数',
  'runs.col.generation': '代', 'runs.col.best_val_acc': '最佳验证准确率', 'runs.col.test_acc': '测试准确率',
  'runs.col.train_seconds': '训练用时', 'runs.col.created_at': '开始时间',
  'runs.chart.loss': '每轮损失（实线训练，虚线验证，点线测试）',
  'runs.chart.acc': '每轮准确率（实线训练，虚线验证，点线测试）',
  'runs.detail': '训练记录 {name}', 'runs.config': '配置', 'runs.log': '训练日志', 'runs.files': '文件',
  'runs.confusion': '混淆矩阵（测试集）', 'runs.misclassified': '识别错误的测试数字', 'runs.curves': '曲线',
  'studies.title': '调参研究', 'studies.intro': 'digitlab tune 的调参研究：每次试验也是上表中的一条训练记录。',
  'studies.col.name': '研究', 'studies.col.objectives': '目标', 'studies.col.trials': '试验数', 'studies.col.complete': '完成',
  'studies.col.pruned': '剪枝', 'studies.col.failed': '失败', 'studies.col.best_val_acc': '最佳验证准确率（试验）', 'studies.col.started': '开始时间',
  'studies.detail': '调参研究 {name}', 'studies.best': '最佳：试验 {trial}，验证准确率 {acc}（训练记录 {run}）。',
  'studies.noBest': '还没有完成的试验。', 'studies.params': '最佳参数', 'studies.importances': '参数重要性',
  'studies.fewest': '最少训练：{of} 次试验中的前 {trials} 次、{total} 训练时间中的 {secs}，即达到与最佳（{best}）相差 0.1 个百分点以内。',
  'studies.pareto': '帕累托前沿（{objectives}）',
  'studies.state.complete': '完成', 'studies.state.pruned': '剪枝', 'studies.state.failed': '失败', 'studies.state.running': '运行中',
  'studies.state.waiting': '等待中',
  'studies.plot.history.png': '优化历史', 'studies.plot.importance.png': '参数重要性',
  'studies.plot.parallel.png': '平行坐标图', 'studies.plot.pareto.png': '帕累托前沿',
  'status.queued': '排队中', 'status.running': '运行中', 'status.completed': '已完成', 'status.early-stopped': '提前停止',
  'status.interrupted': '已中断', 'status.cancelled': '已取消', 'status.failed': '失败', 'status.pruned': '已剪枝', 'status.killed': '已被终止（可继续训练）',
  'train.formTitle': '新的训练',
  'train.formIntro': '每个参数都附有含义、默认值和取值范围。数值会在这里检查，服务器也会再次检查。',
  'train.start': '开始训练', 'train.quick': '快速测试设置', 'train.defaults': '恢复默认',
  'train.default': '默认', 'train.range': '范围', 'train.unit': '单位', 'train.any': '任意', 'train.empty': '（空）',
  'train.fix': '有些数值无效，请查看标出的字段。', 'train.queued': '任务 {id} 已加入队列。',
  'train.progress': '进度', 'train.progressOf': '{id} 的进度', 'train.noProgress': '尚未开始任何任务。',
  'train.status': '状态', 'train.run': '训练记录', 'train.epoch': '轮次', 'train.batch': '批次', 'train.loss': '损失',
  'train.acc': '准确率', 'train.eta': '剩余时间', 'train.valAcc': '验证准确率', 'train.testAcc': '测试准确率',
  'train.cancel': '取消', 'train.queue': '队列（一次运行一个任务）', 'train.noJobs': '还没有任务。',
  'train.col.id': '任务', 'train.col.status': '状态', 'train.col.position': '位置', 'train.col.run': '训练记录', 'train.col.config': '参数',
  'check.number': '请输入数字。', 'check.integer': '请输入整数。', 'check.object': '请输入 JSON 对象，例如 {"width": 64}。',
  'check.json': '不是有效的 JSON。', 'check.pattern': '只能使用字母、数字、“.”、“_”和“-”（最多 64 个）。',
  'check.ge': '不能小于 {v}。', 'check.gt': '必须大于 {v}。', 'check.le': '不能大于 {v}。', 'check.lt': '必须小于 {v}。',
  'models.current': '识别使用的模型', 'models.noneLoaded': '尚未加载模型：请先训练一个，然后在这里选择。',
  'models.arch': '结构 {model}', 'models.testAcc': '测试准确率', 'models.noRejection': '没有“不是数字”的校准',
  'models.promoted': '已发布的模型和各代', 'models.nonePromoted': '还没有发布的模型（digitlab promote RUN --as gen1）。',
  'models.col.name': '名称', 'models.col.version': '版本', 'models.col.generation': '代', 'models.col.run': '训练记录',
  'models.col.val': '验证准确率', 'models.col.test': '测试准确率', 'models.col.created': '发布时间',
  'models.use': '使用', 'models.inUse': '使用中', 'models.useRun': '使用任意训练记录、已发布模型或检查点',
  'models.refLabel': '训练记录名称、gen1:v2 或路径', 'models.shipped': '随附的模型',
  'models.loading': '正在加载 {ref}…', 'models.switched': '识别现在使用 {ref}。',
};

export const DICTIONARIES = { en, zh };
const LANG_KEY = 'digitlab-lang';
let lang = 'en';

/** The saved choice, else the browser's language (Chinese for any zh-*), else English. */
export function initialLanguage() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved in DICTIONARIES) return saved;
  return (navigator.languages || [navigator.language]).some((l) => /^zh\b/i.test(l || '')) ? 'zh' : 'en';
}

export function language() {
  return lang;
}

/** The string for `key` in the current language, with {name} placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const text = DICTIONARIES[lang][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

/** Switch language and relabel every element marked data-i18n / data-i18n-placeholder / data-i18n-aria-label. */
export function setLanguage(next, root = document) {
  lang = next in DICTIONARIES ? next : 'en';
  localStorage.setItem(LANG_KEY, lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-Hans' : 'en';
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-aria-label]')) el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
}

"""Frame-level evaluation on the val split: the headline numbers with ultralytics' validator
(mAP50, mAP50-95, precision and recall per class, confusion matrix and PR curves), and the
breakdown per camera, source and time of day with FiftyOne, whose results stay on the dataset
(eval key `eval`) so the App can browse false positives and misses."""

from __future__ import annotations

import shutil
from pathlib import Path

from ambon_cv.cores import on_every_core
from ambon_cv.detections import CLASSES
from ambon_cv.evaluate.detector import Detector
from ambon_cv.inference.precision import exact_openvino
from ambon_cv.metrics import write_table


def headline(
    weights: Path,
    data: Path,
    imgsz: int,
    device: str,
    plots: Path | None,
    work: Path | None = None,
    images: list[Path] | None = None,
    groups: dict[str, list[Path]] | None = None,
) -> dict:
    """mAP and per-class numbers of any model ultralytics loads (.pt or an export) on the val
    split of `data` (or only the val `images` given); its plots are copied into `plots` (None:
    not kept). The export stage's parity check calls this, so every format is measured by the
    same code. `groups` (name -> val images): the same figures for each group too, under
    `groups`, from the same pass (`ImageStats`), not one more validation each."""
    from ultralytics import YOLO

    run = (work or plots.parent) / ((plots.name if plots else "val") + ".run")
    shutil.rmtree(run, ignore_errors=True)
    subset = run.with_suffix(".subset")  # beside the run: ultralytics clears its own folder
    if images is not None:
        data = _subset(data, images, subset)
    model = on_every_core(YOLO(str(weights)))
    kept = ImageStats()
    if groups:
        model.add_callback("on_val_batch_start", kept.attach)
    with exact_openvino():  # an OpenVINO export is measured as it computes on any CPU
        result = model.val(
            data=str(data),
            split="val",
            imgsz=imgsz,
            rect=False,  # a square letterbox for every format, as exports and the live load run
            device=device,
            plots=plots is not None,
            verbose=False,
            project=str(run.parent),
            name=run.name,
            exist_ok=True,
        )
    images_n = len(images) if images is not None else _count(data.parent / "images" / "val")
    out = _figures(result.box, getattr(result, "nt_per_class", None), images_n)
    if groups:
        out["groups"] = {name: kept.figures(paths) for name, paths in groups.items()}
    if plots is not None:
        plots.mkdir(parents=True, exist_ok=True)
        for png in run.glob("*.png"):
            if png.name not in UNREADABLE_PLOTS:
                shutil.copy2(png, plots / png.name)
        # the same curves as data, for `dvc plots diff` between two experiments
        write_table(plots / "pr.tsv", pr_rows(result.box))
        write_table(plots / "confusion.tsv", confusion_rows(result.confusion_matrix.matrix))
    shutil.rmtree(run, ignore_errors=True)
    shutil.rmtree(subset, ignore_errors=True)
    return out


# ultralytics' precision- and recall-against-confidence curves: their legends give the best value
# of the mean curve ("all classes 1.00 at 0.959": precision is 1 where almost nothing is kept),
# which reads as a result and is none. The PR and F1 curves say what they carry.
UNREADABLE_PLOTS = {"BoxP_curve.png", "BoxR_curve.png"}


def _figures(box, counts, images: int) -> dict:
    """mAP50, mAP50-95 and per-class figures from an ultralytics box metric."""
    out = {"mAP50": float(box.map50), "mAP50-95": float(box.map), "images": images}
    out["per_class"] = {
        CLASSES[int(cls)]: {
            "instances": int(counts[int(cls)]) if counts is not None else None,
            "precision": float(box.p[k]),
            "recall": float(box.r[k]),
            "mAP50": float(box.ap50[k]),
            "mAP50-95": float(box.ap[k]),
        }
        for k, cls in enumerate(box.ap_class_index)
    }
    return out


class ImageStats:
    """Each val image's matches as ultralytics' validator records them (true positives at
    every IoU threshold, confidences, classes), kept so that the figures of any group of the
    images come from the one validation pass: an image's matches do not depend on the others
    (a square letterbox, `rect=False`), so they are exactly what validating the group alone
    gives. Two more passes over the val split were a minute of `evaluate` on a slow box."""

    def __init__(self) -> None:
        self.stats: dict[str, dict] = {}  # image file name -> its record
        self.names: dict[int, str] = {}

    def attach(self, validator) -> None:
        """An `on_val_batch_start` callback: record what the validator's metrics take in."""
        metrics = validator.metrics
        if getattr(metrics, "_kept_by", None) is self:
            return
        update = metrics.update_stats

        def keep(stat: dict) -> None:
            self.stats[stat["im_name"]] = stat
            update(stat)

        metrics.update_stats, metrics._kept_by = keep, self
        self.names = dict(metrics.names)

    def figures(self, images: list[Path]) -> dict:
        """`headline`'s figures over `images` (val images, by file name)."""
        from ultralytics.utils.metrics import DetMetrics

        missing = [p.name for p in images if p.name not in self.stats]
        if missing:
            raise KeyError(f"no validation record of {len(missing)} images, e.g. {missing[0]}")
        metrics = DetMetrics(self.names)
        for p in images:
            metrics.update_stats(self.stats[p.name])
        metrics.process()
        return _figures(metrics.box, metrics.nt_per_class, len(images))


def pr_rows(box, points: int = 101) -> list[dict]:
    """The precision-recall curve of each class (ultralytics' 1000 recall steps, thinned to
    `points`), one row per recall: `recall`, then one column per class."""
    step = max(1, len(box.px) // (points - 1))
    names = [CLASSES[int(c)] for c in box.ap_class_index]
    return [
        {"recall": round(float(box.px[i]), 3)}
        | {n: round(float(box.prec_values[k][i]), 4) for k, n in enumerate(names)}
        for i in range(0, len(box.px), step)
    ]


def confusion_rows(matrix) -> list[dict]:
    """ultralytics' confusion matrix (rows predicted, columns true, the last of each
    `background`) as one row per box, which DVC's confusion template counts. Only boxes found
    and matched to a true box are kept: the background row and column (thousands of low-
    confidence boxes against tens per class) drowned the diagonal; misses and false alarms are
    what the PR curves show.

    Example (two garbage boxes found, one taken for a bin, one missed, one false alarm):
        >>> rows = confusion_rows([[2, 0, 1], [1, 0, 0], [1, 0, 0]])
        >>> len(rows), rows[2]
        (3, {'actual': 'garbage', 'predicted': 'garbage_bin'})
    """
    names = [*CLASSES[: len(matrix) - 1], "background"]
    return [
        {"actual": names[true], "predicted": names[pred]}
        for pred, row in enumerate(matrix)
        for true, count in enumerate(row)
        if "background" not in (names[true], names[pred])
        for _ in range(int(count))
    ]


def _count(folder: Path) -> int:
    return sum(1 for _ in folder.iterdir())


def _subset(data: Path, images: list[Path], folder: Path) -> Path:
    """A dataset.yaml in `folder` whose val split is just `images` (labels found as usual)."""
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load(data.read_text())
    listing = folder / "val.txt"
    listing.write_text("".join(f"{Path(p).resolve()}\n" for p in images))
    spec.update(path=str(data.parent.resolve()), val=str(listing.resolve()))
    out = folder / "data.yaml"
    out.write_text(yaml.safe_dump(spec, sort_keys=False))
    return out


def val_images(data: Path, cameras: set[str]) -> dict[str, list[Path]]:
    """The val images of a curated YOLO export by source: `synthetic` (frames named after a
    registry camera) and `real` (the rest: real photos and clips)."""
    out: dict[str, list[Path]] = {"synthetic": [], "real": []}
    for path in sorted((data.parent / "images" / "val").iterdir()):
        camera = next((c for c in cameras if path.name.startswith(c + "_")), None)
        out["synthetic" if camera else "real"].append(path)
    return out


def breakdown(fo, ds, detector: Detector, model_version: str) -> dict:
    """Predictions on every val frame (field `predictions`), FiftyOne's evaluation stored as
    `eval`, mAP50 per camera, source and time of day, and mistakenness (the `hard` view)."""
    import cv2
    import fiftyone.brain as fob
    from fiftyone import ViewField as F

    val = ds.match((F("split") == "val") & F("ground_truth").exists())
    if not len(val):
        return {}
    paths = val.values("filepath")
    sizes = list(zip(val.values("metadata.width"), val.values("metadata.height"), strict=True))
    preds = [
        d.to_fiftyone(w, h)
        for (w, h), d in zip(sizes, detector(cv2.imread(p) for p in paths), strict=True)
    ]
    val.set_values("predictions", preds)
    val.set_values("predictions_model", [model_version] * len(preds))
    ds.info["model_version"] = model_version
    ds.save()
    results = val.evaluate_detections(
        "predictions", gt_field="ground_truth", eval_key="eval", compute_mAP=True, iou_threshs=[0.5]
    )
    out: dict = {"mAP50": float(results.mAP()), "by": {}}
    for field in ("camera", "dataset_tag", "time_of_day"):
        groups = {}
        for value in val.distinct(field):
            sub = val.match(F(field) == value)
            r = sub.evaluate_detections(
                "predictions", gt_field="ground_truth", compute_mAP=True, iou_threshs=[0.5]
            )
            groups[str(value)] = {"frames": len(sub), "mAP50": float(r.mAP())}
        out["by"][field] = groups
    fob.compute_mistakenness(val, "predictions", label_field="ground_truth")
    return out

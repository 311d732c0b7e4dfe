"""Image classifiers: risk signals that route images to human review, never verdicts.

* ``nsfw`` (:mod:`.nsfw`): Yahoo's open_nsfw, P(pornographic); it knows nothing about age.
* ``face_age`` (:mod:`.age`): dlib HOG faces and each face's apparent-age distribution,
  summarised as P(age < 18), an 80 % interval and a minor_likely/uncertain/adult_likely band.
* ``image_risk`` (:mod:`.risk`): both over one decode per image, combined by a documented
  rule into a review priority (nudity with a face that may be a minor's comes first).

Importing these modules loads no model; each loads in ``setup()``. The model cards are in
docs/models/ (nsfw.md, face-age.md, image-risk.md).
"""

from childsafe.classifiers.image.age import FaceAgeClassifier
from childsafe.classifiers.image.nsfw import NSFWClassifier
from childsafe.classifiers.image.risk import ImageRiskClassifier

__all__ = ["FaceAgeClassifier", "ImageRiskClassifier", "NSFWClassifier"]

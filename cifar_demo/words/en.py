"""The page's words in English, by key. Keys under "page." are the page's own text, translated in the browser by
gradio's I18n (no {placeholders} there but the constants of words.PAGE_VALUES, filled in before they are sent);
every other key is text the server writes, with named {placeholders}. A new UI module brings its English dict as
one more section below (and the same section in ko.py)."""

PAGE = {
    "intro": "### Teach a small neural network to recognise ten kinds of pictures, watch it learn, then try it on "
             "your own photos, or teach it classes of your own.",
    "language": "Language",
    "status": "Status", "message": "Message",
    "active_model": "Active model",
    "tab.train": "Train", "tab.browse": "Browse", "tab.classify": "Classify", "tab.evaluate": "Evaluate",
    "tab.inside": "Inside the net", "tab.yours": "Your classes", "tab.wall": "Wall",
    "net": "Net", "epochs": "Epochs", "batch_size": "Batch size", "lr": "Learning rate", "seed": "Seed",
    "optimizer": "Optimizer", "sgd": "SGD with momentum", "adam": "Adam",
    "muon": "Muon for the filters, SGD for the rest",
    "augment": "Augment (random crops and mirror images)",
    "width": "Width (channels of the last two groups)",
    "length": "How long", "length.epochs": "The epochs set here", "length.5": "Best in 5 minutes",
    "length.10": "Best in 10 minutes", "length.20": "Best in 20 minutes",
    "train": "Train", "stop": "Stop", "compare": "Compare runs",
    "runs": "Runs to show: this session's and the checkpoints' recorded histories",
    "per_page": "Pictures per page", "true_class": "True class", "only_mistakes": "Only mistakes",
    "all_classes": "all classes", "previous": "◀ Previous", "random": "Random", "next": "Next ▶",
    "your_picture": "Your picture", "random_picture": "Random test picture",
    "share": "Share my picture on the class wall", "really": "What is it really?",
    "dont_know": "don't know", "not_listed": "not one of these",
    "top5": "What the net thinks", "seen": "What the net sees: 32x32 pixels",
    "evaluate": "Evaluate the active model on the whole test set (a class's own model: on its held-out pictures)",
    "test_accuracy_number": "Test accuracy (0 to 1)",
    "the_active_model": "the active model", "show_layers": "Show the layers and filters",
    "filters": "First-layer filters", "sees_heading": "### What the active model sees in a picture",
    "inside_picture": "A picture (or take a random test picture)", "explain_class": "Explain the class",
    "predicted_class": "the predicted class", "gradcam": "Grad-CAM: where the evidence is",
    "feature_maps": "Feature maps of each conv stage",
    "steps": "**1.** Name 2 to {max_classes} classes (a pen, a mug, a thumbs up). **2.** Add pictures to each: the "
             "webcam, photos dropped in or pasted, many at once. 10 to 30 a class is plenty. **3.** Train: the "
             "active model's trained layers are kept and a new last layer learns your classes, in seconds. "
             "{held_out} of each class is held out to test it honestly. The new model is then the active one in "
             "every tab.",
    "layers_head": "the new last layer only: seconds, and the best with a few dozen photos",
    "layers_all": "every layer: slower, and no better with so few photos (measured)",
    "new_class": "New class", "new_class_hint": "a name, such as mug or thumbs up", "add_class": "Add class",
    "add_to": "Add pictures to the class",
    "camera": "Take, drop or paste a picture: each goes into the class above",
    "many": "Or upload many pictures at once",
    "gallery": "Pictures of the class above: click one to remove it",
    "remove_picture": "Remove the picture clicked", "remove_class": "Remove this class",
    "train_ours": "Train on our classes", "download_pictures": "Download the pictures (.zip for --data)",
    "download_model": "Download the model (.pt)", "download": "Download",
    "teacher": "Teacher", "picture_number": "Picture number (#)", "hide": "Hide this picture",
    "clear": "Clear the wall", "download_wall": "Download the labelled pictures (.zip)",
    "wall_file": "The wall as a picture folder (--data reads it)",
    "net_choice": "{net} · {size} parameters",
    "about.lenet": "LeNet-5 from the PyTorch tutorial: two 5x5 convs, three linear layers",
    "about.smallcnn": "Two 3x3 convs with padding, then three linear layers",
    "about.fastnet": "CPU preset: a fixed whitening layer, then three conv-pool-BatchNorm-GELU groups (48-192-192)",
    "about.resnet": "ResNet-9 (64-128-256-512 channels) with BatchNorm: 94% on a GPU",
}

STATUS = {
    "idle": "Ready: pick a net and click Train. The loss curve appears within seconds.",
    "failed": "Training failed. {reason}",
    "ended": "{state} · saved as {file}",
    "ended_active": "{state} · saved as {file} · now the active model in every tab",
    "ended_result": "{state} · {result} · saved as {file}",
    "ended_result_active": "{state} · {result} · saved as {file} · now the active model in every tab",
    "finished": "Finished", "stopped": "Stopped",
    "result": "test accuracy {accuracy} ({right} of {pictures} pictures it never trained on) · took {took}",
    "result_no_count": "test accuracy {accuracy} · took {took}",
    "result_no_time": "test accuracy {accuracy} ({right} of {pictures} pictures it never trained on)",
    "result_no_count_no_time": "test accuracy {accuracy}",
    "starting": "{run}: {message}…",
    "progress": "epoch {epoch}/{epochs} · step {step}/{steps} · {speed} img/s",
    "progress_eta": "epoch {epoch}/{epochs} · step {step}/{steps} · {speed} img/s · ETA {eta}",
    "progress_best": "epoch {epoch}/{epochs} · step {step}/{steps} · {speed} img/s · best {best}",
    "progress_eta_best": "epoch {epoch}/{epochs} · step {step}/{steps} · {speed} img/s · ETA {eta} · best {best}",
    "progress_phase": "epoch {epoch}/{epochs} · {phase}",
    "seconds": "{seconds} s",
    "stopping": "Stopping after this batch…", "no_run": "No training run is in progress.",
    "cpu": "CPU, {threads} threads", "cpu_one": "CPU, 1 thread",
    "header": "Device: {device} · Active model: {model}",
    "header_model": "{net} · test accuracy {accuracy} · from {file}",
    "header_model_plain": "{net} · from {file}", "header_none": "none yet",
    "training_now": "{net} · training now",
}

TEXT = {
    "refused": "The request was refused: {reason}",
    "title.error": "Error", "title.not_started": "Training not started", "title.not_shared": "Not shared",
    "title.not_allowed": "Not allowed", "title.not_entered": "Not entered", "title.not_cancelled": "Not cancelled",
    "title.not_opened": "Not opened",
    "sized": "Sized to this machine: width {width} ({widths} channels), {epochs} epochs in {precision} at first; "
             "the run plans its steps again after each epoch to end within {minutes} min: a click now ends by {clock}.",
    "sizing": "Timing each width on this machine",
    "per_page_choices": "Pictures per page: one of {choices}.",
    "browse_summary": "{correct}/{count} correct in this batch · pictures {first}-{last} of {total}",
    "browse_summary_held_out": "{correct}/{count} correct in this batch · held-out pictures {first}-{last} of {total}",
    "browse_truth_only": "pictures {first}-{last} of {total} · no model yet, showing the true classes only",
    "browse_other_classes": "pictures {first}-{last} of {total} · the active model was trained on other classes, "
                            "showing the true classes only",
    "true_class_is": "True class: {name}",
    "on_wall": "On the class wall as #{number}: the net says {guess} ({confidence}).",
    "on_wall_truth": "On the class wall as #{number}: the net says {guess} ({confidence}); you say it is {truth}.",
    "classifying": "classifying {count} test pictures",
    "evaluated": "Test accuracy {accuracy}: {right} of {total} pictures right ({net}, {file})",
    "evaluated_held_out": "Held-out accuracy {accuracy}: {right} of {total} pictures right ({net}, {file})",
    "most_confused": "Most confused: {pairs}",
    "taken_for": "{truth} taken for {guess} ({count}×)",
    "comma": "{first}, {second}", "semicolon": "{first}; {second}",
    "no_model_wall": "No trained model yet, so no guesses: train one in the Train tab.",
    "wall_hidden": "Picture #{number} is hidden from the wall, its summary and its download.",
    "wall_cleared": "The wall is empty: {count} pictures taken off. Every page may share again.",
    "wall_cleared_one": "The wall is empty: 1 picture taken off. Every page may share again.",
    "give_number": "Give the number (#) of the picture to hide.",
    "send_picture": "Send a picture to share.",
    "wall_empty": "Share a picture from the Classify tab: it appears here.",
    "wall_right": "✓ right", "wall_really": "really {truth}",
    "wall_ours": "## Our photos: {accuracy}",
    "wall_ours_detail": "right on {right} of {compared} pictures that say what they really are",
    "wall_test": "## Test set: {accuracy}", "wall_test_detail": "the same net on the data set's test pictures",
    "not_recorded": "not recorded",
    "wall_table": "| class | our photos | test set |",
    "wall_confused": "**Most confused:** {pairs}",
    "wall_shown": "{count} pictures on the wall",
    "wall_unknown": "{unknown} don't know, {not_listed} not one of these",
    "wall_others": "truths this net does not know: {names}",
    "wall_dropped": "{count} older pictures dropped off: the wall keeps the newest {capacity}",
    "no_classes": "No classes yet: type a name and click Add class.",
    "your_count": "{count} pictures", "your_count_one": "1 picture",
    "your_count_held": "{count} pictures ({held} held out)",
    "your_newest": "the newest pictures of {name}",
    "your_ready": "Ready: {total} pictures in {classes} classes. Click Train on our classes to fine-tune {net} "
                  "({file}).",
    "class_made": "Class '{name}' made: add its pictures.",
    "choose_class": "Choose the class this picture is of first (or add a class).",
    "choose_class_many": "Choose the class these pictures are of first (or add a class).",
    "added_one": "Added to '{name}'.",
    "added": "Added {count} pictures to '{name}'.", "added_single": "Added 1 picture to '{name}'.",
    "click_first": "Click a picture in the row above first, then remove it.",
    "picture_removed": "Picture #{number} removed.",
    "class_removed": "Class '{name}' removed with its pictures.",
    "not_your_model": "The active model was not trained on your classes: train on them first, or choose such a "
                      "model in the Active model menu.",
    "download_not_written": "The download could not be written on this computer ({why}); everything the class made "
                            "is kept.",
    "name_a_net": "Name a net from the list, or leave it empty for the active model.",
    "compare_list": "Give a list of checkpoint names from /models, or 'running'.",
}

CHART = {
    "loss": "Training loss", "loss_legend": "loss", "smoothed": "smoothed", "click_train": "Click Train to watch "
    "the loss fall", "step": "step", "cross_entropy": "cross-entropy loss", "accuracy": "Test accuracy",
    "epoch": "epoch", "accuracy_axis": "accuracy (%)", "per_class": "Accuracy per class",
    "no_pictures": "no pictures", "chance": "chance\n{percent}", "confusion": "Confusion matrix",
    "predicted": "predicted class", "truth": "true class", "runs": "Runs compared",
    "smoothed_loss": "Smoothed training loss", "pick_runs": "Train a model or pick runs to compare",
    "run": "{net} · {epochs} epochs · {accuracy}", "run_one": "{net} · {epochs} epoch · {accuracy}",
    "failed": "The chart could not be drawn: {reason}.",
    "run_plain": "{net} · {epochs} epochs", "run_one_plain": "{net} · {epochs} epoch",
}

LAB = {
    "unknown_class": "Unknown class '{name}'; the classes are {classes}.",
    "no_match": "No test pictures match this filter.",
    "running": "A training run is already in progress: stop it first, or watch it here.",
}

# The training job's phases, by the words the job reports them in (they cross a process pipe as text).
JOB = {
    "starting": "starting", "loading data": "loading data", "training": "training",
    "measuring test accuracy": "measuring test accuracy", "saving checkpoint": "saving checkpoint",
    "stopped before the first step; nothing was saved": "Stopped before the first step; nothing was saved",
}

# gradio's own words that its catalog lacks (its status tracker announces "common.complete" to screen readers)
GRADIO = {
    "common.complete": "Done",
}
# gradio's own words it writes without its catalog, replaced by CSS on a page in another language
GRADIO_FIXED = {
    "webcam": "Click to Access Webcam",
}

COLLECTION = {
    "nothing": "Nothing collected yet: make at least {classes} classes and add at least {pictures} pictures to each.",
    "one_class": "There is only one class, '{name}': make a second one, as a net learns to tell classes apart.",
    "one_filled": "Only '{name}' has pictures: add at least {pictures} to '{empty}' too.",
    "empty": "The class '{name}' has no pictures: add at least {pictures}, or remove the class.",
    "short": "The class '{name}' has 1 picture; it needs at least {pictures}: one to learn from and one to test on "
             "(10 or more work far better).",
    "same_name": "There is already a class '{name}': '{typed}' would be the same name.",
    "too_many": "A collection holds at most {classes} classes; remove one before adding '{name}'.",
    "no_class": "There is no class '{name}'; the classes are: {known}.",
    "no_class_yet": "There is no class '{name}'; the classes are: none yet.",
    "at_once": "At most {most} pictures can be added at once; this names {count}: add them in smaller batches.",
    "too_long": "not added: with the pictures before it, this upload would take too long to decode; add it in an "
                "upload of its own.",
    "picture_refused": "Picture {number}: {reason}",
    "repeat": "Picture {number}: the same file as picture {first}, added once.",
    "full": "The class '{name}' is full ({most} pictures); remove some before adding more.",
    "no_picture": "There is no picture '{picture}' in the collection; it may have been removed already.",
}

CLASSES = {
    "airplane": "airplane", "automobile": "automobile", "bird": "bird", "cat": "cat", "deer": "deer",
    "dog": "dog", "frog": "frog", "horse": "horse", "ship": "ship", "truck": "truck",
}


LESSON_PAGE = {  # the Lesson tab's own words
    "tab": "Lesson",
    "intro": "The class's wall and classes are saved as they change, and come back when the app restarts. Here the "
             "teacher keeps a lesson and starts the next one, or takes a lesson to another laptop.",
    "students": "The lesson controls are the teacher's, on the computer that runs the app.",
    "new": "New lesson (keep this one, start empty)",
    "number": "Lesson number",
    "restore": "Restore this lesson",
    "download": "Download this lesson (.zip)",
    "upload": "Restore a lesson from its .zip",
    "saved": "This lesson as one file: Restore lesson on another laptop, or python3 app.py --restore FILE",
}

LESSON = {  # what the Lesson tab's server writes
    "no_number": "Give the number of a kept lesson to restore.",
    "heading": "| # | started | kept | wall pictures | classes | class pictures |\n|---|---|---|---|---|---|",
    "current": "this lesson",
    "started_new": "Lesson #{lesson} started: the wall and Your classes are empty; the lesson before is kept below.",
    "restored": "Lesson #{lesson} restored: its wall and classes are back; the lesson before is kept below.",
    "imported": "The lesson in {name} is lesson #{lesson} now: its wall and classes are back; the lesson before is "
                "kept below.",
}

JOIN_PAGE = {  # the Join panel's own words
    "title": "Join: the students' page on their phones",
}

JOIN = {  # what the Join panel's server writes (the last two by network.Reach's value)
    "scan": "Scan with your phone's camera, or type:",
    "login": "Log in with the class's user name and password.",
    "qr_alt": "QR code of {url}",
    "this computer only": "The app listens on {host}, this computer only: students cannot reach it. For a class, "
                          "stop it (Ctrl+C) and start it with: {command}",
    "no network": "The app listens on every address, but this computer has no network address now: join the "
                  "class's Wi-Fi, then reload this page.",
}

CHALLENGE_PAGE = {  # the Challenge tab's own words
    "tab": "Challenge",
    "intro": "**Class challenge.** Choose a net and its settings, give a nickname and submit: the server trains every "
             "entry in turn, each for the same budget, and the board ranks them by their accuracy on 5,000 training "
             "pictures kept aside (validation). When the teacher ends the challenge, the board shows each entry's "
             "accuracy on the test set, which no entry was ever measured on: did the order hold?",
    "nickname": "Nickname", "nickname_hint": "1 to 30 characters, shown on the board",
    "submit": "Submit my entry", "cancel": "Cancel my entry",
    "board": "### Board", "queue": "### Queue",
    "compare": "Compare entries", "compare_pick": "Entries to compare (at most {max_compared})",
    "teacher": "Teacher", "budget": "Budget per entry", "unit": "in", "unit_seconds": "seconds of training",
    "unit_epochs": "epochs", "nets": "Nets allowed", "open": "Open a challenge", "close": "Close: no new entries",
    "end": "End: reveal the test set", "winner": "Make the winner the active model",
}

CHALLENGE = {  # what the Challenge tab's server writes; a table's head is its cells between |
    "submitted": "Entry #{entry} is in the queue: {place}.",
    "replaced": "Entry #{entry} has your new settings and keeps its place: {place}.",
    "next": "next to train", "place": "place {position}",
    "no_own": "This browser has no entry waiting or training.", "cancelled": "Entry #{entry} is cancelled.",
    "no_challenge": "No challenge yet: the teacher opens one below (on the computer that runs the app).",
    "header": "### Challenge #{id} · {state} · {budget} an entry · nets: {nets}",
    "state_open": "open: submit your entry", "state_closed": "closed: no new entries, the queue runs on",
    "state_ended": "ended: the test set has spoken",
    "training_now": "**Training now:** #{entry} {nickname} ({net}) · {seconds} of training",
    "loading": "**Next up:** #{entry} {nickname} ({net}) · setting up",
    "paused": "**Paused:** another run holds the trainer (the teacher's Train goes first); the queue goes on after it.",
    "teacher_first": "The teacher's Train (Train tab) goes first: a training entry stops and runs again from the "
                     "start after it. A student's Train waits until the queue is empty.",
    "empty_board": "No entry has finished yet.",
    "empty_queue": "Nobody is waiting.",
    "board_head": "rank|#|nickname|net|epochs|batch|learning rate|optimizer|augment|seed|epochs trained|"
                  "validation accuracy",
    "revealed_head": "test accuracy|test rank|moved",
    "queue_head": "place|#|nickname|net|epochs|batch|learning rate|optimizer|augment|seed|starts in",
    "not_ranked": "**Not ranked:** ", "unknown": "–", "yes": "yes", "no": "no", "soon": "soon",
    "up": "▲{n}", "down": "▼{n}", "same": "=", "state_failed": "failed", "state_lost": "lost",
    "loss_title": "Training loss of the entry training now",
    "accuracy_title": "Validation accuracy of the entry training now",
    "compare_title": "Entries compared", "compare_accuracy": "Validation accuracy",
    "opened": "Challenge #{id} is open: {budget} an entry, nets {nets}.",
    "closed": "Challenge #{id} is closed: no new entries; the queue runs on.",
    "ended": "Challenge #{id} has ended: the board shows the test set's scores.{winner}",
    "winner_is": " On the test set, #{entry} {nickname} wins with {accuracy}.",
    "activated": "#{entry} {nickname}'s model is now the active model in every tab.",
    "budget_seconds": "{seconds} s of training", "budget_epoch": "1 epoch", "budget_epochs": "{epochs} epochs",
}

CHALLENGE_SAID = {  # every sentence the challenge's core says, for the page and the API
    "none": "There is no class challenge yet: the teacher opens one in the Challenge tab.",
    "not_open": "The challenge is {state}: it takes no new entries.",
    "still_on": "A challenge is still {state}: end it before opening a new one.",
    "not_on": "The challenge has {state} already.",
    "budget": "The budget must be {seconds} seconds of training, or {epochs} epochs.",
    "nets": "Allow one or more of the nets {nets}.",
    "nickname": "A nickname is 1 to {chars} characters of plain text (letters, digits, spaces, punctuation).",
    "net": "This challenge allows {nets}: choose one of them.",
    "epochs": "This challenge's budget is {epochs} epoch(s) an entry: choose at most {epochs}.",
    "full": "The queue is full ({waiting} entries waiting): submit again once some have run.",
    "number": "Give the number (#) of an entry on the board or in the queue.",
    "no_entry": "There is no entry #{entry}.",
    "cancelled_already": "Entry #{entry} is cancelled already.",
    "compare": "Choose at most {compared} entries to compare.",
    "queue_busy": "The class challenge's queue holds the trainer ({count} entries to run): submit your settings in "
                  "the Challenge tab, or Train once the queue is empty.",
    "guarded": "The running job is entry #{entry} of the class challenge: its student, or the teacher, cancels it "
               "in the Challenge tab.",
    "no_winner": "No entry has a test-set score yet.",
    "winner_later": "The challenge is {state}: the winner is known when it ends (before that, Evaluate would show "
                    "the test-set score the board keeps hidden).",
    "state_open": "open", "state_closed": "closed", "state_ended": "ended",
    "unreadable": "The winner's checkpoint {file} could not be read; the server's log says why.",
    # what the board says of an entry (kept with the entry, in English)
    "cut": "cut at the budget",
    "restart": "cut by a restart of the server: its curve up to then is kept",
    "ended_during": "cut: the challenge ended during this run",
    "not_run": "not run: the challenge ended before its turn",
    "withdrawn": "cancelled",
    "unscored": "no test-set score: {why}",
}

STUDENT_PAGE = {  # the students' page's own words
    "title": "### Show the net a picture",
    "picture": "Your picture",
    "placeholder": "Tap here to take a photo, or choose one",
    "guess": "The net thinks",
    "seen": "It sees 32x32",
    "share": "Share to the wall",
    "class": "Our class to add it to",
    "add": "Add to our class",
    "wall": "**The class wall**",
}

STUDENT = {  # what the students' page's server writes
    "page": "Students",
    "model": "The class's net now: {net} ({file})",
    "no_model": "No trained model yet: the teacher trains one first.",
    "no_picture": "Take or choose a picture first.",
    "no_class": "Choose one of our classes first (the teacher makes them in Your classes).",
    "no_classes": "No classes of our own yet: the teacher makes them in Your classes.",
    "class": "Our class to add it to",
    "shared": "On the wall as #{id}: the net says {guess} ({confidence}).",
    "relabelled": "Picture #{id} on the wall now says what it really is.",
    "added": "Added to '{name}'.",
    "wall_empty": "Nothing on the wall yet: share the first picture.",
    "tile": "#{id}: {guess} {confidence}",
    "really_tile": "really {truth}",
}

NAMES = {  # the class-name rule's refusals (names.py); {name} is the name as a refusal quotes it
    "needed": "A class needs a name, such as 'cat' or 'my mug'.",
    "same": "'{first}' and '{second}' are the same class name: names are compared ignoring case, spaces and letters "
            "that look alike.",
    "not_stored": "The class name '{name}' is not written as names are stored (Unicode NFC, one space between words).",
    "too_long": "The class name '{name}' is {length} characters long; {most} at most, please.",
    "hidden": "The class name '{name}' cannot be used: it holds the invisible or control character {code}, which no "
              "one can see or type.",
    "path": "The class name '{name}' cannot be used: it holds '{character}', and no folder name may hold any of "
            "{characters} on some system (each zip of the classes has a folder per class).",
    "dot": "The class name '{name}' cannot be used: a folder name may not start with a dot (Linux and macOS hide it) "
           "or end with one (Windows drops it).",
    "device": "The class name '{name}' cannot be used: Windows keeps that name for a device, so no folder can have it.",
    "mixed": "The class name '{name}' cannot be used: the word '{word}' mixes {scripts} letters, which look alike; "
             "use one alphabet.",
    "and": "{first} and {second}",
    "latin": "Latin", "cyrillic": "Cyrillic", "greek": "Greek", "armenian": "Armenian", "cherokee": "Cherokee",
}

IMAGES = {  # what is wrong with a file brought as a picture (images.py)
    "too_big_file": "The file is {size} MB; pictures up to {most} MB are accepted.",
    "not_a_file": "A picture cannot be read from a {kind}.",
    "empty": "The file is empty (0 bytes).",
    "unreadable": "The file could not be read.",
    "bomb": "The picture is far too large (over {over} megapixels); up to {most} megapixels are accepted.",
    "format": "This file is not a picture format that can be read ({formats}).",
    "format_svg": "This file is not a picture format that can be read ({formats}). SVG is a drawing format: export "
                  "it as PNG first.",
    "none": "No picture was given.",
    "array": "This array is not a picture ({reason}).",
    "nothing": "The picture is {width}x{height} pixels: it has nothing to show.",
    "damaged": "The picture could not be decoded: the file is damaged or truncated.",
    "undecodable": "The picture could not be decoded.",
    "pixels": "The picture is {width}x{height} pixels ({megapixels} megapixels); up to {most} megapixels are "
              "accepted.",
    "pixels_whole": "The picture is {width}x{height} pixels ({megapixels} megapixels); up to {most} megapixels are "
                    "accepted (a phone's JPEG may have more).",
    "mode": "Pictures in colour mode '{mode}' cannot be used ({reason}).",
    "member_too_big": "'{name}' unpacks to {size} bytes, more than {most}.",
}

ACCESS = {  # who may take an action (access.py); {thing} names what was touched
    "teacher_only": "Only the teacher can do this, on the computer that runs the app (the projector laptop); it is "
                    "refused from other computers.",
    "cancel": "Entry #{thing} was submitted from another browser: only that browser, or the teacher on the computer "
              "that runs the app, can cancel it.",
    "remove_picture": "Picture {thing} was added from another browser: only that browser, or the teacher on the "
                      "computer that runs the app, can remove it.",
    "relabel": "Picture #{thing} was shared from another page: only that page can say what it is.",
    "browser_pictures": "This browser has {cap} pictures in the collection, the most one browser may hold: remove "
                        "some to add more.",
    "computer_pictures": "This computer has {cap} pictures in the collection, the most one computer may hold: remove "
                         "some to add more.",
}

SERVING = {  # a request refused before the app reads it (serving.py)
    "values": "A request may hold at most {most} values; this one holds {values}.",
    "files": "A request may name at most {most} files, {references} times in all; this one names {files}, {times} "
             "times: send them in smaller batches.",
}

FILES = {  # a picture folder or archive refused while it is read (picture_files.py)
    "too_big": "Refusing '{source}': {what}, more than any data set this app reads. Unpack it, keep the pictures you "
               "need and point --data at that folder.",
    "entries": "it holds more than {most} files and folders",
    "bytes": "its contents come to more than {most} GB",
    "pixels": "its pictures add up to more than {most} million pixels",
    "index": "its index takes {size} bytes",
    "read": "a header or member asks for {size} bytes at once",
    "folder": "Refusing '{source}': the folder {split}/{folder} cannot be a class, as {reason}.",
    "same": "Refusing '{source}': in {split}/, {reason}; keep one of the two folders.",
    "outside": "Refusing the archive: member '{name}' points outside its folder.",
    "symlink": "Refusing the archive: member '{name}' is a symbolic link.",
    "link": "Refusing the archive: member '{name}' is a link.",
}

DATA = {  # the no-data paragraph and every data set that cannot be used (data.py)
    "not_found": "No training data found at '{path}'. Tried: {tried}. To fix it, do one of: connect to the internet "
                 "once so torchvision can download CIFAR-10 into that folder; point --data (or the CIFAR_DEMO_DATA "
                 "environment variable) at a copy of CIFAR-10 (a 'cifar-10-batches-py' folder, a folder with "
                 "train/<class>/ and test/<class>/ pictures, or a .tar.gz/.zip archive of such a folder); or make "
                 "your own picture folders in that layout, one sub-folder per class.",
    "tried_more": "{first}; {second}",
    "not_archive": "'{name}' is a file but not a .tar.gz, .tgz, .tar or .zip archive",
    "tried_batches": "a torchvision 'cifar-10-batches-py' folder",
    "tried_tree": "a folder with train/<class>/ and test/<class>/ pictures",
    "tried_download": "downloading CIFAR-10 with torchvision ({reason})",
    "offline": "no internet connection: the download server could not be reached",
    "disk_full": "the disk is full",
    "unusable": "'{file}' is not a usable CIFAR-10 batch file: {why}. Nothing in it was run. Replace the "
                "cifar-10-batches-py folder with a fresh copy of CIFAR-10 (or delete it and let torchvision download "
                "it again), or point --data at a folder of pictures.",
    "object": "Refusing '{file}': it asks to load the Python object '{name}', which CIFAR-10 batch files never hold, "
              "so reading stopped there and nothing in it was run. Replace the cifar-10-batches-py folder with a "
              "fresh copy of CIFAR-10, or point --data at a folder of pictures.",
    "batch_size": "it holds {size} bytes, more than {most}",
    "batch_unreadable": "it cannot be read ({reason})",
    "batch_unpickle": "it does not unpickle ({reason})",
    "batch_entry": "it is not a dict with a '{name}' entry",
    "batch_labels": "its 'label_names' is not a list of distinct class names",
    "batch_label_name": "in its 'label_names', {reason}",
    "batch_data": "its 'data' is not an N x {row} array of pixels",
    "batch_values": "its 'data' holds values outside 0-255",
    "batch_numbers": "its 'labels' are not {count} class numbers from 0 to {last}",
    "archive": "Could not read the archive '{path}': {reason}. Is the file complete?",
    "no_train": "'{source}' has a train/ folder but no pictures in train/<class>/ sub-folders.",
    "unknown_test": "'{source}': test/ has classes that train/ lacks: {classes}.",
    "both": "'{source}' needs readable pictures in both train/<class>/ and test/<class>/.",
}

WALL = {  # the wall's refusals (wall.py)
    "truth": "'{truth}' is not one of the active model's classes: say one of {named}, or 'not one of these', or "
             "'don't know'.",
    "no_picture": "There is no picture #{entry} on the wall.",
    "folders": "The wall cannot be saved as folders of the model's classes: {reason}.",
    "none_labelled": "No picture on the wall says what it really is yet (one of the model's classes), so there is "
                     "nothing to save as labelled pictures.",
    "page_shares": "This page has shared {cap} pictures, the most one page may share. The teacher can clear the wall "
                   "to start again.",
    "computer_shares": "This computer has shared {cap} pictures, the most one computer may share. The teacher can "
                       "clear the wall to start again.",
}

MODELS = {  # the models on the shelf and what the active one can do (shelf.py, lab.py)
    "unknown": "No model '{name}' is known; choose one from the list.",
    "none": "No trained model yet: train one in the Train tab, or start the app with --checkpoint FILE.",
    "skipped": "{count} checkpoint files could not be used and were skipped; the server's log says why.",
    "skipped_one": "1 checkpoint file could not be used and was skipped; the server's log says why.",
    "held_out_gone": "{file} was trained on pictures collected before the server last started, so its held-out "
                     "pictures are gone; Classify and Inside the net still work.",
    "other_classes": "The active model knows the classes {known}, but the data has {classes}: train a model on this "
                     "data first.",
}

STORE = {  # the class's store (store.py)
    "cannot_open": "The store {path} cannot be opened: {reason}.",
    "in_use": "Another app is already using the store {path}: stop it, or give this one its own with --store PATH.",
    "not_saved": "The store {name} could not save this ({why}); everything saved before is kept.",
    "disk_full": "the disk is full",
    "read_only": "the disk or folder is read-only or failing",
    "no_class": "The store has no class '{name}' in this lesson.",
    "no_lesson": "There is no archived lesson #{lesson} to restore.",
    "lesson_refused": "Refusing the lesson '{name}': {reason}.",
    "not_zip": "File is not a zip file", "bad_zip": "{reason}",
    "moved_aside": "The class's store could not be read (damaged, or not this app's): it was moved aside, beside it, "
                   "as {name}, and a new, empty one started.",
}

LESSON_ZIP = {  # what is wrong with a lesson zip (lesson_zip.py); each follows "Refusing the lesson '…':"
    "members": "it holds {count} files; a lesson has at most {most}",
    "outside": "the file '{name}' points outside its folder",
    "link": "'{name}' is a link",
    "twice": "the file '{name}' appears twice",
    "no_manifest": "it has no {manifest}: it is no lesson zip",
    "not_manifest": "its {manifest} is not a lesson's",
    "picture_missing": "'{name}' is missing or too big to be a picture",
    "not_png": "'{name}' is not a 32x32 PNG",
    "classes": "it has {count} classes; {most} at most",
    "wall": "its wall has {count} pictures; {most} at most",
    "broken": "its {manifest} is broken",
    "name": "the class name '{name}' is not as the app would store it",
    "class_twice": "the class '{name}' appears twice",
    "class_pictures": "the class '{name}' has over {most} pictures",
    "truth": "the wall's truth '{truth}' cannot be a class",
}

EXPLAIN = {  # Inside the net: the layer walk-through, its table, the pictures' titles and Grad-CAM (explain.py)
    "layer": "layer", "type": "type", "input": "input", "output": "output", "parameters": "parameters",
    "picture": "The net sees a 3x32x32 picture: 3 colour channels (red, green, blue) of 32x32 pixels.",
    "filters": "{count} filters make {count} channels",
    "turns": "turns {before} into {after}", "keeps": "keeps {after}",
    "lost_sides": "{n} pixels on each side", "lost_all": "{n} pixels in all", "lost_one": "1 pixel in all",
    "conv_valid": "{name} {turns} because {k}x{k} kernels without padding lose {lost}; {filters}.",
    "conv_same": "{name} {turns}: padding {p} keeps the size, because a {p}-pixel border of zeros makes up for what "
                 "{k}x{k} kernels lose at the edges; {filters}.",
    "conv_patches": "{name} {turns}: {k}x{k} kernels with stride {s} cut the picture into non-overlapping {k}x{k} "
                    "patches; {filters}.",
    "conv": "{name} {turns}: {k}x{k} kernels, stride {s}, padding {p} give (size + 2·{p} − {k}) / {s} + 1 pixels; "
            "{filters}.",
    "flatten": "flatten turns {before} into {after} numbers in a row ({product} = {count}), so linear layers can take "
               "them.",
    "global_largest": "{name} keeps only the largest value of each of the {channels} channels: {before} to {after}.",
    "global_average": "{name} keeps only the average value of each of the {channels} channels: {before} to {after}.",
    "halves_largest": "{name} halves {before} to {after}: each {k}x{k} window keeps its largest value.",
    "halves_average": "{name} halves {before} to {after}: each {k}x{k} window keeps its average value.",
    "shrinks_largest": "{name} shrinks {before} to {after}: each {k}x{k} window keeps its largest value.",
    "shrinks_average": "{name} shrinks {before} to {after}: each {k}x{k} window keeps its average value.",
    "linear": "{name} connects all {inputs} inputs to {outputs} outputs ({inputs}·{outputs} weights).",
    "linear_bias": "{name} connects all {inputs} inputs to {outputs} outputs ({inputs}·{outputs} weights + {outputs} "
                   "biases).",
    "linear_last": "{name} connects all {inputs} inputs to {outputs} outputs: one score per class ({inputs}·{outputs} "
                   "weights).",
    "linear_last_bias": "{name} connects all {inputs} inputs to {outputs} outputs: one score per class "
                        "({inputs}·{outputs} weights + {outputs} biases).",
    "batchnorm": "{name} rescales each of the {channels} channels to a steady range; the shape stays {after}.",
    "relu": "{name} sets negative values to zero; the shape stays {after}.",
    "gelu": "{name} lets positive values through and squashes negative ones towards zero; the shape stays {after}.",
    "residual": "{name} adds its input back to what its two convs made (a skip connection); the shape stays {after}.",
    "other": "{name} turns {before} into {after}.",
    "filters_title": "{name}: {count} filters of {k}x{k} pixels x 3 colours",
    "stage_all": "{name}: all {channels} channels, {height}x{width} each",
    "stage_strongest": "{name}: the {shown} strongest of {channels} channels, {height}x{width} each",
    "cold": "Nothing in the picture raised the score for '{name}' ({probability}), so the map stays cold.",
    "warm": "Warm areas are where the net found the evidence for '{name}' ({probability}); cold areas did not raise "
            "that score. The map comes from {layer}, which sees the picture as {cells}x{cells} cells.",
    "own_answer": "{line} The net's own answer is '{predicted}' ({top}).",
    "tensor": "A picture tensor must be uint8 3x32x32, not {dtype} {shape}.",
    "unknown_class": "Unknown class '{name}'; choose one of: {classes}.",
}

TRAINING = {  # a run that cannot start or failed (training.py, trainer.py, models.py, checkpoints.py)
    "settings": "Invalid training settings: {problems}.",
    "memory": "Out of memory on {device}: lower the batch size (now {batch}) or choose a smaller net.",
    "compile": "torch.compile failed on {device} ({reason}). Train without compile: it is optional and only changes "
               "the speed.",
    "diverged": "Training diverged: the loss became {loss} at step {step} (epoch {epoch}). The learning rate {lr} is "
                "too high for this net; try {lower}. Nothing was saved.",
    "base_net": "The base checkpoint {file} holds a {base}, but these settings train a {net}: choose the same net.",
    "died": "The training process stopped unexpectedly ({how}). This run is lost; every saved checkpoint is "
            "untouched. Click Train to start again.",
    "killed": "killed by {signal}", "exit": "exit status {status}",
    "unknown_net": "Unknown net '{name}'; choose one of: {nets}.",
    "checkpoint_name": "'{name}' is not a valid checkpoint name: use letters, digits, '-', '_' and '.', starting with "
                       "a letter or digit.",
}


SETTING = {  # a training setting's name, as refusals and the README's settings table call it (settings.py)
    "model": "net",
    "width": "width",
    "epochs": "epochs",
    "minutes": "minutes",
    "batch_size": "batch size",
    "lr": "learning rate",
    "momentum": "momentum",
    "weight_decay": "weight decay",
    "filter_lr": "filter learning rate",
    "optimizer": "optimizer",
    "schedule": "schedule",
    "warmup": "warm-up",
    "label_smoothing": "label smoothing",
    "augment": "augment",
    "translate": "translate",
    "test_time_flip": "test-time flip",
    "test_time_shift": "test-time shift",
    "evals_per_epoch": "evaluations per epoch",
    "seed": "seed",
    "device": "device",
    "compile": "compile",
    "init_from": "base checkpoint",
    "train_layers": "train layers",
    "colour_jitter": "colour jitter",
    "cpu_bf16": "CPU bf16",
    "norm_lr_scale": "BatchNorm learning-rate scale",
    "lookahead": "lookahead",
    "whiten_bias_epochs": "whitening bias epochs",
    "alternate_flip": "alternate flip",
}

RULE = {  # what a setting's value must be (settings.py, training.py); a refusal reads 'must'
    "must": "{label} must be {must}",
    "whole": "a whole number from {low} to {high}",
    "none_or": "none or {must}",
    "above_to": "above {low} and at most {high}",
    "from_below": "in [{low}, {high})",
    "from_to": "from {low} to {high}",
    "either": "{first} or {second}",
    "one_of": "one of {choices}",
    "switch": "true or false",
    "base_checkpoint": "none or a path of at most {most} characters",
    "train_layers": "'all', or 'head' with a base checkpoint to start from",
    "width": "none, or with fastnet a multiple of 4 from {low} to {high}",
    "device_name": "a device name",
}

def section(prefix: str, words: dict[str, str]) -> dict[str, str]:
    return {f"{prefix}.{key}": text for key, text in words.items()}


WORDS = {**section("page", PAGE), **section("status", STATUS), **section("text", TEXT),
         **section("chart", CHART), **section("class", CLASSES), **section("lab", LAB),
         **section("job", JOB),
         **section("gradio", GRADIO),
         **section("gradio_fixed", GRADIO_FIXED),
         **section("collection", COLLECTION),
         **section("page.lesson", LESSON_PAGE), **section("lesson", LESSON),
         **section("page.join", JOIN_PAGE), **section("join", JOIN),
         **section("page.challenge", CHALLENGE_PAGE), **section("challenge", CHALLENGE),
         **section("challenge.said", CHALLENGE_SAID),
         **section("page.student", STUDENT_PAGE), **section("student", STUDENT),
         **section("names", NAMES), **section("images", IMAGES), **section("access", ACCESS),
         **section("serving", SERVING), **section("files", FILES), **section("data", DATA),
         **section("wall", WALL), **section("models", MODELS), **section("store", STORE),
         **section("lesson_zip", LESSON_ZIP), **section("explain", EXPLAIN),
         **section("training", TRAINING), **section("setting", SETTING), **section("rule", RULE)}

"""The page's words in Korean, by the keys of en.py (tests/test_words.py checks that both have the same keys and the
same placeholders)."""
from .en import section

PAGE = {
    "intro": "### 작은 신경망에게 열 가지 그림을 알아보도록 가르치고, 배우는 모습을 지켜본 뒤, 여러분의 사진으로 "
             "시험해 보거나 여러분만의 클래스를 가르쳐 보세요.",
    "language": "언어",
    "status": "상태", "message": "알림",
    "active_model": "사용 중인 모델",
    "tab.train": "학습", "tab.browse": "둘러보기", "tab.classify": "분류", "tab.evaluate": "평가",
    "tab.inside": "신경망 속", "tab.yours": "우리 클래스", "tab.wall": "게시판",
    "net": "신경망", "epochs": "에포크", "batch_size": "배치 크기", "lr": "학습률", "seed": "시드",
    "optimizer": "최적화 방법", "sgd": "모멘텀 SGD", "adam": "아담(Adam)",
    "augment": "데이터 늘리기 (무작위 자르기와 좌우 뒤집기)",
    "train": "학습", "stop": "멈춤", "compare": "학습 기록 비교",
    "runs": "보여 줄 학습: 이번 세션과 체크포인트에 기록된 기록",
    "per_page": "한 쪽의 그림 수", "true_class": "정답 클래스", "only_mistakes": "틀린 것만",
    "all_classes": "모든 클래스", "previous": "◀ 이전", "random": "무작위", "next": "다음 ▶",
    "your_picture": "여러분의 그림", "random_picture": "무작위 테스트 그림",
    "share": "내 그림을 우리 반 게시판에 올리기", "really": "실제로는 무엇인가요?",
    "dont_know": "모름", "not_listed": "이 중에 없음",
    "top5": "신경망의 생각", "seen": "신경망이 보는 것: 32x32 픽셀",
    "evaluate": "사용 중인 모델을 테스트 세트 전체로 평가하기 (우리 반 모델은 따로 떼어 둔 그림으로)",
    "test_accuracy_number": "테스트 정확도 (0에서 1)",
    "the_active_model": "사용 중인 모델", "show_layers": "층과 필터 보기",
    "filters": "첫 번째 층의 필터", "sees_heading": "### 사용 중인 모델이 그림에서 보는 것",
    "inside_picture": "그림 (또는 무작위 테스트 그림)", "explain_class": "설명할 클래스",
    "predicted_class": "예측한 클래스", "gradcam": "Grad-CAM: 근거가 있는 곳",
    "feature_maps": "합성곱 단계마다의 특징 맵",
    "steps": "**1.** 클래스 2개에서 {max_classes}개의 이름을 정하세요 (펜, 머그컵, 엄지 척). **2.** 클래스마다 "
             "그림을 넣으세요: 웹캠, 끌어다 놓거나 붙여 넣은 사진, 여러 장을 한 번에. 클래스마다 10장에서 30장이면 "
             "충분합니다. **3.** 학습: 사용 중인 모델의 학습된 층은 그대로 두고 새 마지막 층이 몇 초 만에 우리 "
             "클래스를 배웁니다. 정직하게 시험하려고 클래스마다 {held_out}를 떼어 둡니다. 그다음 새 모델이 모든 "
             "탭에서 사용 중인 모델이 됩니다.",
    "layers_head": "새 마지막 층만: 몇 초, 사진 수십 장에는 이쪽이 가장 좋습니다",
    "layers_all": "모든 층: 더 느리고, 사진이 적으면 더 낫지 않습니다 (측정 결과)",
    "new_class": "새 클래스", "new_class_hint": "머그컵, 엄지 척 같은 이름", "add_class": "클래스 추가",
    "add_to": "그림을 넣을 클래스",
    "camera": "그림을 찍거나 끌어다 놓거나 붙여 넣으세요: 위의 클래스에 들어갑니다",
    "many": "또는 여러 그림을 한 번에 올리기",
    "gallery": "위 클래스의 그림: 하나를 누르면 지울 수 있습니다",
    "remove_picture": "누른 그림 지우기", "remove_class": "이 클래스 지우기",
    "train_ours": "우리 클래스로 학습", "download_pictures": "그림 내려받기 (--data용 .zip)",
    "download_model": "모델 내려받기 (.pt)", "download": "내려받기",
    "teacher": "선생님", "picture_number": "그림 번호 (#)", "hide": "이 그림 숨기기",
    "clear": "게시판 비우기", "download_wall": "정답이 붙은 그림 내려받기 (.zip)",
    "wall_file": "그림 폴더로 만든 게시판 (--data로 읽습니다)",
    "net_choice": "{net} · 매개변수 {size}개",
    "about.lenet": "파이토치 튜토리얼의 LeNet-5: 5x5 합성곱 두 개, 선형 층 세 개",
    "about.smallcnn": "패딩을 둔 3x3 합성곱 두 개, 그다음 선형 층 세 개",
    "about.fastnet": "CPU용 설정: 고정된 화이트닝 층, 그다음 합성곱-풀링-배치정규화-GELU 묶음 세 개 (48-192-192)",
    "about.resnet": "배치정규화를 쓰는 ResNet-9 (채널 64-128-256-512): GPU에서 94%",
}

STATUS = {
    "idle": "준비 완료: 신경망을 고르고 학습을 누르세요. 몇 초 안에 손실 곡선이 나타납니다.",
    "failed": "학습에 실패했습니다. {reason}",
    "ended": "{state} · {file}(으)로 저장",
    "ended_active": "{state} · {file}(으)로 저장 · 이제 모든 탭에서 사용 중인 모델",
    "ended_result": "{state} · {result} · {file}(으)로 저장",
    "ended_result_active": "{state} · {result} · {file}(으)로 저장 · 이제 모든 탭에서 사용 중인 모델",
    "finished": "완료", "stopped": "멈춤",
    "result": "테스트 정확도 {accuracy} (한 번도 학습하지 않은 그림 {pictures}장 중 {right}장) · {took} 걸림",
    "result_no_count": "테스트 정확도 {accuracy} · {took} 걸림",
    "result_no_time": "테스트 정확도 {accuracy} (한 번도 학습하지 않은 그림 {pictures}장 중 {right}장)",
    "result_no_count_no_time": "테스트 정확도 {accuracy}",
    "starting": "{run}: {message}…",
    "progress": "에포크 {epoch}/{epochs} · 단계 {step}/{steps} · 초당 {speed}장",
    "progress_eta": "에포크 {epoch}/{epochs} · 단계 {step}/{steps} · 초당 {speed}장 · 남은 시간 {eta}",
    "progress_best": "에포크 {epoch}/{epochs} · 단계 {step}/{steps} · 초당 {speed}장 · 최고 {best}",
    "progress_eta_best": "에포크 {epoch}/{epochs} · 단계 {step}/{steps} · 초당 {speed}장 · 남은 시간 {eta} · "
                         "최고 {best}",
    "progress_phase": "에포크 {epoch}/{epochs} · {phase}",
    "seconds": "{seconds}초",
    "stopping": "이번 배치가 끝나면 멈춥니다…", "no_run": "진행 중인 학습이 없습니다.",
    "cpu": "CPU, 스레드 {threads}개", "cpu_one": "CPU, 스레드 1개",
    "header": "장치: {device} · 사용 중인 모델: {model}",
    "header_model": "{net} · 테스트 정확도 {accuracy} · {file}에서",
    "header_model_plain": "{net} · {file}에서", "header_none": "아직 없음",
    "training_now": "{net} · 지금 학습 중",
}

TEXT = {
    "refused": "요청이 거절되었습니다: {reason}",
    "title.error": "오류", "title.not_started": "학습을 시작하지 않았습니다", "title.not_shared": "올리지 않았습니다",
    "title.not_allowed": "허용되지 않습니다",
    "per_page_choices": "한 쪽의 그림 수는 {choices} 중 하나여야 합니다.",
    "browse_summary": "이 묶음에서 {count}장 중 {correct}장 맞음 · 그림 {first}-{last} / {total}",
    "browse_summary_held_out": "이 묶음에서 {count}장 중 {correct}장 맞음 · 떼어 둔 그림 {first}-{last} / {total}",
    "browse_truth_only": "그림 {first}-{last} / {total} · 아직 모델이 없어 정답 클래스만 보여 줍니다",
    "browse_other_classes": "그림 {first}-{last} / {total} · 사용 중인 모델은 다른 클래스로 학습되어 정답 클래스만 "
                            "보여 줍니다",
    "true_class_is": "정답 클래스: {name}",
    "on_wall": "게시판에 #{number}(으)로 올렸습니다: 신경망은 {guess}(이)라고 합니다 ({confidence}).",
    "on_wall_truth": "게시판에 #{number}(으)로 올렸습니다: 신경망은 {guess}(이)라고 합니다 ({confidence}); "
                     "여러분은 {truth}(이)라고 합니다.",
    "classifying": "테스트 그림 {count}장 분류 중",
    "evaluated": "테스트 정확도 {accuracy}: {total}장 중 {right}장 맞음 ({net}, {file})",
    "evaluated_held_out": "떼어 둔 그림의 정확도 {accuracy}: {total}장 중 {right}장 맞음 ({net}, {file})",
    "most_confused": "가장 많이 헷갈린 것: {pairs}",
    "taken_for": "{truth}을(를) {guess}(으)로 ({count}번)",
    "list_separator": "; ",
    "no_model_wall": "아직 학습된 모델이 없어 추측도 없습니다: 학습 탭에서 모델을 학습하세요.",
    "wall_hidden": "#{number} 그림을 게시판, 요약, 내려받기에서 숨겼습니다.",
    "wall_cleared": "게시판을 비웠습니다: 그림 {count}장을 내렸습니다. 모든 페이지가 다시 올릴 수 있습니다.",
    "wall_cleared_one": "게시판을 비웠습니다: 그림 1장을 내렸습니다. 모든 페이지가 다시 올릴 수 있습니다.",
    "give_number": "숨길 그림의 번호(#)를 적으세요.",
    "send_picture": "올릴 그림을 보내세요.",
    "wall_empty": "분류 탭에서 그림을 올리면 여기에 나타납니다.",
    "wall_right": "✓ 맞음", "wall_really": "실제로는 {truth}",
    "wall_ours": "## 우리 사진: {accuracy}",
    "wall_ours_detail": "실제로 무엇인지 적힌 그림 {compared}장 중 {right}장 맞음",
    "wall_test": "## 테스트 세트: {accuracy}", "wall_test_detail": "같은 신경망이 데이터 세트의 테스트 그림에서",
    "not_recorded": "기록 없음",
    "wall_table": "| 클래스 | 우리 사진 | 테스트 세트 |",
    "wall_confused": "**가장 많이 헷갈린 것:** {pairs}",
    "wall_shown": "게시판의 그림 {count}장",
    "wall_unknown": "모름 {unknown}장, 이 중에 없음 {not_listed}장",
    "wall_others": "이 신경망이 모르는 정답: {names}",
    "wall_dropped": "오래된 그림 {count}장이 빠졌습니다: 게시판은 최근 {capacity}장만 둡니다",
    "no_classes": "아직 클래스가 없습니다: 이름을 적고 클래스 추가를 누르세요.",
    "your_count": "그림 {count}장", "your_count_one": "그림 1장",
    "your_count_held": "그림 {count}장 ({held}장은 떼어 둠)",
    "your_newest": "{name}의 최근 그림",
    "your_ready": "준비 완료: 클래스 {classes}개에 그림 {total}장. 우리 클래스로 학습을 누르면 {net} ({file})을(를) "
                  "미세 조정합니다.",
    "class_made": "'{name}' 클래스를 만들었습니다: 그림을 넣으세요.",
    "choose_class": "먼저 이 그림의 클래스를 고르세요 (또는 클래스를 추가하세요).",
    "added_one": "'{name}'에 넣었습니다.",
    "added": "'{name}'에 그림 {count}장을 넣었습니다.", "added_single": "'{name}'에 그림 1장을 넣었습니다.",
    "click_first": "먼저 위 줄의 그림을 누른 다음 지우세요.",
    "picture_removed": "#{number} 그림을 지웠습니다.",
    "class_removed": "'{name}' 클래스를 그림과 함께 지웠습니다.",
    "not_your_model": "사용 중인 모델은 우리 클래스로 학습하지 않았습니다: 먼저 학습하거나, 사용 중인 모델 메뉴에서 "
                      "그런 모델을 고르세요.",
    "name_a_net": "목록에서 신경망을 고르거나, 비워 두면 사용 중인 모델을 씁니다.",
    "compare_list": "/models의 체크포인트 이름 목록이나 'running'을 주세요.",
}

CHART = {
    "loss": "학습 손실", "loss_legend": "손실", "smoothed": "평활화", "click_train": "학습을 누르면 손실이 "
    "떨어지는 모습이 보입니다", "step": "단계", "cross_entropy": "교차 엔트로피 손실", "accuracy": "테스트 정확도",
    "epoch": "에포크", "accuracy_axis": "정확도 (%)", "per_class": "클래스별 정확도",
    "no_pictures": "그림 없음", "chance": "찍기\n{percent}", "confusion": "혼동 행렬",
    "predicted": "예측한 클래스", "truth": "정답 클래스", "runs": "학습 비교",
    "smoothed_loss": "평활화한 학습 손실", "pick_runs": "모델을 학습하거나 비교할 학습을 고르세요",
    "run": "{net} · 에포크 {epochs} · {accuracy}", "run_one": "{net} · 에포크 {epochs} · {accuracy}",
    "run_plain": "{net} · 에포크 {epochs}", "run_one_plain": "{net} · 에포크 {epochs}",
}

LAB = {
    "unknown_class": "'{name}'(이)라는 클래스는 없습니다; 클래스는 {classes}입니다.",
    "no_match": "이 조건에 맞는 테스트 그림이 없습니다.",
    "running": "이미 학습이 진행 중입니다: 먼저 멈추거나, 여기서 지켜보세요.",
}

JOB = {
    "starting": "시작하는 중", "loading data": "데이터를 불러오는 중", "training": "학습 중",
    "measuring test accuracy": "테스트 정확도를 재는 중", "saving checkpoint": "체크포인트를 저장하는 중",
    "stopped before the first step; nothing was saved": "첫 단계 전에 멈췄습니다; 저장한 것이 없습니다",
}

GRADIO = {
    "common.complete": "완료",
}
# gradio's own words it writes without its catalog, replaced by CSS on a page in another language
GRADIO_FIXED = {
    "webcam": "눌러서 웹캠 사용하기",
}

COLLECTION = {
    "nothing": "아직 모은 것이 없습니다: 클래스를 {classes}개 이상 만들고 클래스마다 그림을 {pictures}장 이상 넣으세요.",
    "one_class": "클래스가 '{name}' 하나뿐입니다: 신경망은 클래스를 구별하며 배우므로 하나 더 만드세요.",
    "one_filled": "'{name}'에만 그림이 있습니다: '{empty}'에도 {pictures}장 이상 넣으세요.",
    "empty": "'{name}' 클래스에 그림이 없습니다: {pictures}장 이상 넣거나 클래스를 지우세요.",
    "short": "'{name}' 클래스에는 그림이 1장 있습니다; 배울 그림과 시험할 그림으로 {pictures}장 이상이 필요합니다 "
             "(10장 이상이면 훨씬 좋습니다).",
    "same_name": "'{name}' 클래스가 이미 있습니다: '{typed}'은(는) 같은 이름이 됩니다.",
    "too_many": "모음에는 클래스를 {classes}개까지 둘 수 있습니다; '{name}'을(를) 넣기 전에 하나를 지우세요.",
}

CLASSES = {
    "airplane": "비행기", "automobile": "자동차", "bird": "새", "cat": "고양이", "deer": "사슴",
    "dog": "개", "frog": "개구리", "horse": "말", "ship": "배", "truck": "트럭",
}

WORDS = {**section("page", PAGE), **section("status", STATUS), **section("text", TEXT),
         **section("chart", CHART), **section("class", CLASSES), **section("lab", LAB),
         **section("job", JOB),
         **section("gradio", GRADIO),
         **section("gradio_fixed", GRADIO_FIXED),
         **section("collection", COLLECTION)}

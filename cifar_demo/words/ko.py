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
    "muon": "필터는 뮤온(Muon), 나머지는 SGD",
    "augment": "데이터 늘리기 (무작위 자르기와 좌우 뒤집기)",
    "width": "너비 (마지막 두 묶음의 채널 수)",
    "length": "학습 길이", "length.epochs": "정한 에포크대로", "length.5": "5분 맞춤 최고",
    "length.10": "10분 맞춤 최고", "length.20": "20분 맞춤 최고",
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
    "title.not_allowed": "허용되지 않습니다", "title.not_entered": "제출하지 않았습니다",
    "title.not_cancelled": "취소하지 않았습니다", "title.not_opened": "열지 않았습니다",
    "sized": "이 컴퓨터에 맞췄습니다: 너비 {width} (채널 {widths}), {precision}로 처음 계획은 {epochs} 에포크입니다. "
             "에포크마다 남은 단계를 다시 계획해 {minutes}분 안에 끝냅니다: 지금 누르면 {clock}까지 끝납니다.",
    "sizing": "이 컴퓨터에서 너비마다 시간을 재는 중",
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
    "comma": "{first}, {second}", "semicolon": "{first}; {second}",
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
    "choose_class_many": "먼저 이 그림들의 클래스를 고르세요 (또는 클래스를 추가하세요).",
    "added_one": "'{name}'에 넣었습니다.",
    "added": "'{name}'에 그림 {count}장을 넣었습니다.", "added_single": "'{name}'에 그림 1장을 넣었습니다.",
    "click_first": "먼저 위 줄의 그림을 누른 다음 지우세요.",
    "picture_removed": "#{number} 그림을 지웠습니다.",
    "class_removed": "'{name}' 클래스를 그림과 함께 지웠습니다.",
    "not_your_model": "사용 중인 모델은 우리 클래스로 학습하지 않았습니다: 먼저 학습하거나, 사용 중인 모델 메뉴에서 "
                      "그런 모델을 고르세요.",
    "download_not_written": "이 컴퓨터에 내려받을 파일을 쓰지 못했습니다 ({why}); 반이 만든 것은 모두 그대로 남아 있습니다.",
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
    "failed": "차트를 그릴 수 없습니다: {reason}.",
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
    "no_class": "'{name}' 클래스는 없습니다; 있는 클래스: {known}.",
    "no_class_yet": "'{name}' 클래스는 없습니다; 아직 클래스가 하나도 없습니다.",
    "at_once": "그림은 한 번에 {most}장까지 넣을 수 있는데, 이번에는 {count}장입니다: 더 적게 나눠 넣으세요.",
    "too_long": "넣지 않았습니다: 앞의 그림들과 함께 풀기에는 너무 오래 걸립니다. 이 그림만 따로 올리세요.",
    "picture_refused": "그림 {number}: {reason}",
    "repeat": "그림 {number}: 그림 {first}와(과) 같은 파일이라 한 번만 넣었습니다.",
    "full": "'{name}' 클래스가 가득 찼습니다 (그림 {most}장): 더 넣으려면 몇 장을 지우세요.",
    "no_picture": "모음에 '{picture}' 그림이 없습니다; 이미 지워졌을 수 있습니다.",
}

CLASSES = {
    "airplane": "비행기", "automobile": "자동차", "bird": "새", "cat": "고양이", "deer": "사슴",
    "dog": "개", "frog": "개구리", "horse": "말", "ship": "배", "truck": "트럭",
}

LESSON_PAGE = {
    "tab": "수업",
    "intro": "우리 반의 게시판과 클래스는 바뀔 때마다 저장되고, 앱을 다시 시작하면 돌아옵니다. 여기서 선생님은 "
             "수업을 보관하고 다음 수업을 시작하거나, 수업을 다른 노트북으로 옮깁니다.",
    "students": "수업 관리는 앱을 실행하는 컴퓨터에서 선생님만 할 수 있습니다.",
    "new": "새 수업 (이 수업은 보관하고 빈 상태로 시작)",
    "number": "수업 번호",
    "restore": "이 수업 되살리기",
    "download": "이 수업 내려받기 (.zip)",
    "upload": ".zip 파일에서 수업 되살리기",
    "saved": "이 수업을 파일 하나로: 다른 노트북의 수업 탭에서, 또는 앱을 시작할 때 되살립니다",
}

LESSON = {
    "no_number": "되살릴 보관된 수업의 번호를 넣으세요.",
    "heading": "| # | 시작 | 보관 | 게시판 그림 | 클래스 | 클래스 그림 |\n|---|---|---|---|---|---|",
    "current": "이 수업",
    "started_new": "수업 #{lesson} 시작: 게시판과 우리 클래스가 비었습니다; 이전 수업은 아래에 보관되어 있습니다.",
    "restored": "수업 #{lesson}을(를) 되살렸습니다: 게시판과 클래스가 돌아왔습니다; 이전 수업은 아래에 보관되어 "
                "있습니다.",
    "imported": "{name}의 수업이 이제 수업 #{lesson}입니다: 게시판과 클래스가 돌아왔습니다; 이전 수업은 아래에 "
                "보관되어 있습니다.",
}

JOIN_PAGE = {
    "title": "참여하기: 학생들의 휴대폰 페이지",
}

JOIN = {
    "scan": "휴대폰 카메라로 찍거나 주소를 입력하세요:",
    "login": "우리 반의 사용자 이름과 비밀번호로 로그인하세요.",
    "qr_alt": "{url}의 큐알 코드",
    "this computer only": "앱이 {host}, 이 컴퓨터에서만 열려 있어 학생들이 들어올 수 없습니다. 수업에서 쓰려면 "
                          "앱을 멈추고 다음으로 다시 시작하세요: {command}",
    "no network": "앱이 모든 주소에서 열려 있지만 이 컴퓨터에 지금 네트워크 주소가 없습니다: 우리 반 와이파이에 "
                  "연결한 뒤 이 페이지를 새로 고치세요.",
}

CHALLENGE_PAGE = {
    "tab": "도전",
    "intro": "**우리 반 도전.** 신경망과 설정을 고르고 별명을 적어 제출하세요: 서버가 모든 참가작을 차례로, 같은 "
             "예산만큼 학습시키고, 순위표는 따로 떼어 둔 학습 그림 5,000장(검증)에서의 정확도로 순위를 매깁니다. "
             "선생님이 도전을 끝내면, 순위표는 어떤 참가작도 재 본 적 없는 테스트 세트에서의 정확도를 보여 줍니다: "
             "순위는 그대로였을까요?",
    "nickname": "별명", "nickname_hint": "1~30자, 순위표에 보입니다",
    "submit": "내 참가작 제출", "cancel": "내 참가작 취소",
    "board": "### 순위표", "queue": "### 대기열",
    "compare": "참가작 비교", "compare_pick": "비교할 참가작 (최대 {max_compared}개)",
    "teacher": "선생님", "budget": "참가작마다의 예산", "unit": "단위", "unit_seconds": "학습 시간(초)",
    "unit_epochs": "에포크", "nets": "허용할 신경망", "open": "도전 열기", "close": "마감: 새 참가작 받지 않기",
    "end": "끝내기: 테스트 세트 공개", "winner": "우승작을 사용 중인 모델로",
}

CHALLENGE = {
    "submitted": "참가작 #{entry}이(가) 대기열에 들어갔습니다: {place}.",
    "replaced": "참가작 #{entry}에 새 설정이 들어갔고 순서는 그대로입니다: {place}.",
    "next": "다음 차례", "place": "{position}번째",
    "no_own": "이 브라우저에는 기다리거나 학습 중인 참가작이 없습니다.", "cancelled": "참가작 #{entry}을(를) 취소했습니다.",
    "no_challenge": "아직 도전이 없습니다: 선생님이 아래에서 엽니다 (앱을 실행하는 컴퓨터에서).",
    "header": "### 도전 #{id} · {state} · 참가작마다 {budget} · 신경망: {nets}",
    "state_open": "열림: 참가작을 제출하세요", "state_closed": "마감: 새 참가작은 받지 않고 대기열은 계속됩니다",
    "state_ended": "끝남: 테스트 세트가 답했습니다",
    "training_now": "**지금 학습 중:** #{entry} {nickname} ({net}) · 학습 {seconds}",
    "loading": "**다음 차례:** #{entry} {nickname} ({net}) · 준비 중",
    "paused": "**잠시 멈춤:** 다른 학습이 트레이너를 쓰고 있습니다 (선생님의 학습이 먼저입니다); 그 뒤에 대기열이 "
              "이어집니다.",
    "teacher_first": "선생님의 학습(학습 탭)이 먼저입니다: 학습 중인 참가작은 멈췄다가 그 뒤에 처음부터 다시 "
                     "학습합니다. 학생의 학습은 대기열이 빌 때까지 기다립니다.",
    "empty_board": "아직 끝난 참가작이 없습니다.",
    "empty_queue": "기다리는 참가작이 없습니다.",
    "board_head": "순위|#|별명|신경망|에포크|배치|학습률|최적화 방법|데이터 늘리기|시드|학습한 에포크|검증 정확도",
    "revealed_head": "테스트 정확도|테스트 순위|변동",
    "queue_head": "순서|#|별명|신경망|에포크|배치|학습률|최적화 방법|데이터 늘리기|시드|시작까지",
    "not_ranked": "**순위 없음:** ", "unknown": "–", "yes": "예", "no": "아니요", "soon": "곧",
    "up": "▲{n}", "down": "▼{n}", "same": "=", "state_failed": "실패", "state_lost": "잃음",
    "loss_title": "지금 학습 중인 참가작의 학습 손실",
    "accuracy_title": "지금 학습 중인 참가작의 검증 정확도",
    "compare_title": "참가작 비교", "compare_accuracy": "검증 정확도",
    "opened": "도전 #{id}이(가) 열렸습니다: 참가작마다 {budget}, 신경망 {nets}.",
    "closed": "도전 #{id}이(가) 마감되었습니다: 새 참가작은 받지 않고 대기열은 계속됩니다.",
    "ended": "도전 #{id}이(가) 끝났습니다: 순위표에 테스트 세트 점수가 나옵니다.{winner}",
    "winner_is": " 테스트 세트에서 #{entry} {nickname}이(가) {accuracy}(으)로 우승했습니다.",
    "activated": "#{entry} {nickname}의 모델이 이제 모든 탭에서 사용 중인 모델입니다.",
    "budget_seconds": "학습 {seconds}초", "budget_epoch": "1 에포크", "budget_epochs": "{epochs} 에포크",
}

CHALLENGE_SAID = {
    "none": "아직 우리 반 도전이 없습니다: 선생님이 도전 탭에서 엽니다.",
    "not_open": "도전이 {state} 상태입니다: 새 참가작을 받지 않습니다.",
    "still_on": "도전이 아직 {state} 상태입니다: 새 도전을 열기 전에 끝내세요.",
    "not_on": "도전이 이미 {state} 상태입니다.",
    "budget": "예산은 학습 {seconds}초, 또는 {epochs} 에포크여야 합니다.",
    "nets": "신경망 {nets} 중 하나 이상을 허용하세요.",
    "nickname": "별명은 1~{chars}자의 일반 텍스트입니다 (글자, 숫자, 공백, 문장 부호).",
    "net": "이 도전은 {nets}만 허용합니다: 그중 하나를 고르세요.",
    "epochs": "이 도전의 예산은 참가작마다 {epochs} 에포크입니다: {epochs} 이하로 고르세요.",
    "full": "대기열이 가득 찼습니다 (참가작 {waiting}개 대기 중): 몇 개가 학습한 뒤 다시 제출하세요.",
    "number": "순위표나 대기열에 있는 참가작의 번호(#)를 넣으세요.",
    "no_entry": "참가작 #{entry}은(는) 없습니다.",
    "cancelled_already": "참가작 #{entry}은(는) 이미 취소되었습니다.",
    "compare": "비교할 참가작은 {compared}개까지 고르세요.",
    "queue_busy": "우리 반 도전의 대기열이 트레이너를 쓰고 있습니다 (남은 참가작 {count}개): 도전 탭에서 설정을 "
                  "제출하거나, 대기열이 빈 뒤에 학습하세요.",
    "guarded": "지금 학습 중인 것은 우리 반 도전의 참가작 #{entry}입니다: 그 학생이나 선생님이 도전 탭에서 취소합니다.",
    "no_winner": "아직 테스트 세트 점수가 있는 참가작이 없습니다.",
    "winner_later": "도전이 {state} 상태입니다: 우승작은 도전이 끝나야 알 수 있습니다 (그 전에 평가하면 순위표가 "
                    "숨기는 테스트 세트 점수가 보이게 됩니다).",
    "state_open": "열림", "state_closed": "마감", "state_ended": "끝남",
    "unreadable": "우승작의 체크포인트 {file}을(를) 읽을 수 없습니다; 서버 로그에 이유가 있습니다.",
    "cut": "예산에서 멈춤",
    "restart": "서버가 다시 시작해 멈춤: 그때까지의 곡선은 남아 있습니다",
    "ended_during": "멈춤: 학습 중에 도전이 끝났습니다",
    "not_run": "학습 안 함: 차례가 오기 전에 도전이 끝났습니다",
    "withdrawn": "취소됨",
    "unscored": "테스트 세트 점수 없음: {why}",
}

STUDENT_PAGE = {
    "title": "### 신경망에게 그림을 보여 주세요",
    "picture": "내 그림",
    "placeholder": "여기를 눌러 사진을 찍거나 고르세요",
    "guess": "신경망의 생각",
    "seen": "32x32로 봅니다",
    "share": "게시판에 올리기",
    "class": "넣을 우리 클래스",
    "add": "우리 클래스에 넣기",
    "wall": "**우리 반 게시판**",
}

STUDENT = {
    "page": "학생",
    "model": "지금 우리 반의 신경망: {net} ({file})",
    "no_model": "아직 학습한 모델이 없습니다: 선생님이 먼저 학습시킵니다.",
    "no_picture": "먼저 그림을 찍거나 고르세요.",
    "no_class": "먼저 우리 클래스 하나를 고르세요 (선생님이 우리 클래스 탭에서 만듭니다).",
    "no_classes": "아직 우리 클래스가 없습니다: 선생님이 우리 클래스 탭에서 만듭니다.",
    "class": "넣을 우리 클래스",
    "shared": "게시판에 #{id}(으)로 올렸습니다: 신경망은 {guess}({confidence})(이)라고 합니다.",
    "relabelled": "게시판의 그림 #{id}에 이제 실제 정답이 적혀 있습니다.",
    "added": "'{name}'에 넣었습니다.",
    "wall_empty": "아직 게시판이 비어 있습니다: 첫 그림을 올려 보세요.",
    "tile": "#{id}: {guess} {confidence}",
    "really_tile": "실제로는 {truth}",
}

NAMES = {
    "needed": "클래스에는 '고양이'나 '내 머그컵' 같은 이름이 필요합니다.",
    "same": "'{first}'와(과) '{second}'는 같은 클래스 이름입니다: 이름은 대소문자, 띄어쓰기, 비슷하게 생긴 글자를 "
            "무시하고 비교합니다.",
    "not_stored": "클래스 이름 '{name}'이(가) 저장하는 형식(유니코드 NFC, 단어 사이 띄어쓰기 한 칸)으로 쓰여 있지 "
                  "않습니다.",
    "too_long": "클래스 이름 '{name}'은(는) {length}자입니다. {most}자까지만 쓸 수 있습니다.",
    "hidden": "클래스 이름 '{name}'은(는) 쓸 수 없습니다: 아무도 보거나 입력할 수 없는 보이지 않는 문자나 제어 문자 "
              "{code}이(가) 들어 있습니다.",
    "path": "클래스 이름 '{name}'은(는) 쓸 수 없습니다: '{character}'이(가) 들어 있는데, 어떤 시스템에서는 폴더 이름에 "
            "{characters} 중 어느 것도 쓸 수 없습니다 (클래스를 담은 zip에는 클래스마다 폴더가 하나씩 있습니다).",
    "dot": "클래스 이름 '{name}'은(는) 쓸 수 없습니다: 폴더 이름은 점으로 시작하거나(Linux와 macOS에서는 숨겨집니다) "
           "점으로 끝날 수 없습니다(Windows에서는 지워집니다).",
    "device": "클래스 이름 '{name}'은(는) 쓸 수 없습니다: Windows가 장치 이름으로 쓰는 이름이라 어떤 폴더에도 붙일 수 "
              "없습니다.",
    "mixed": "클래스 이름 '{name}'은(는) 쓸 수 없습니다: 단어 '{word}'에 서로 닮은 {scripts} 글자가 섞여 있습니다. 한 가지 "
             "문자만 쓰세요.",
    "and": "{first}, {second}",
    "latin": "라틴", "cyrillic": "키릴", "greek": "그리스", "armenian": "아르메니아", "cherokee": "체로키",
}

IMAGES = {
    "too_big_file": "파일이 {size}MB입니다. 그림은 {most}MB까지 받습니다.",
    "not_a_file": "{kind}에서는 그림을 읽을 수 없습니다.",
    "empty": "파일이 비어 있습니다 (0바이트).",
    "unreadable": "파일을 읽을 수 없습니다.",
    "bomb": "그림이 너무 큽니다 ({over}메가픽셀 넘음). {most}메가픽셀까지 받습니다.",
    "format": "읽을 수 있는 그림 형식이 아닙니다 ({formats}).",
    "format_svg": "읽을 수 있는 그림 형식이 아닙니다 ({formats}). SVG는 그리기 형식입니다: 먼저 PNG로 내보내세요.",
    "none": "그림이 없습니다.",
    "array": "이 배열은 그림이 아닙니다 ({reason}).",
    "nothing": "그림이 {width}x{height} 픽셀이라 보여 줄 것이 없습니다.",
    "damaged": "그림을 풀 수 없습니다: 파일이 망가졌거나 잘렸습니다.",
    "undecodable": "그림을 풀 수 없습니다.",
    "pixels": "그림이 {width}x{height} 픽셀({megapixels}메가픽셀)입니다. {most}메가픽셀까지 받습니다.",
    "pixels_whole": "그림이 {width}x{height} 픽셀({megapixels}메가픽셀)입니다. {most}메가픽셀까지 받습니다 (휴대폰 "
                    "JPEG는 더 커도 됩니다).",
    "mode": "색 모드가 '{mode}'인 그림은 쓸 수 없습니다 ({reason}).",
    "member_too_big": "'{name}'은(는) 풀면 {size}바이트로, {most}바이트보다 큽니다.",
}

ACCESS = {
    "teacher_only": "선생님만, 앱을 실행하는 컴퓨터(프로젝터에 연결된 노트북)에서 할 수 있습니다. 다른 컴퓨터에서는 할 수 "
                    "없습니다.",
    "cancel": "#{thing}번 참가작은 다른 브라우저에서 냈습니다: 그 브라우저나, 앱을 실행하는 컴퓨터의 선생님만 취소할 수 "
              "있습니다.",
    "remove_picture": "그림 {thing}은(는) 다른 브라우저에서 넣었습니다: 그 브라우저나, 앱을 실행하는 컴퓨터의 선생님만 지울 "
                      "수 있습니다.",
    "relabel": "#{thing}번 그림은 다른 페이지에서 올렸습니다: 그 페이지만 실제로 무엇인지 말할 수 있습니다.",
    "browser_pictures": "이 브라우저는 모음에 그림을 {cap}장 넣었습니다. 브라우저 하나가 넣을 수 있는 최대입니다: 더 넣으려면 "
                        "몇 장을 지우세요.",
    "computer_pictures": "이 컴퓨터는 모음에 그림을 {cap}장 넣었습니다. 컴퓨터 한 대가 넣을 수 있는 최대입니다: 더 넣으려면 "
                         "몇 장을 지우세요.",
}

SERVING = {
    "values": "요청 하나에는 값이 {most}개까지 들어갈 수 있습니다. 이 요청에는 {values}개가 있습니다.",
    "files": "요청 하나는 파일을 {most}개까지, 모두 합쳐 {references}번까지 가리킬 수 있습니다. 이 요청은 파일 {files}개를 "
             "{times}번 가리킵니다: 더 작게 나눠 보내세요.",
}

FILES = {
    "too_big": "'{source}'은(는) 받지 않습니다: {what}. 이 앱이 읽는 어떤 데이터 세트보다 큽니다. 압축을 풀어 필요한 그림만 "
               "남기고 --data로 그 폴더를 가리키세요.",
    "entries": "파일과 폴더가 {most}개보다 많습니다",
    "bytes": "내용이 {most}GB보다 큽니다",
    "pixels": "그림을 모두 합치면 {most}백만 픽셀보다 많습니다",
    "index": "목차가 {size}바이트입니다",
    "read": "머리글이나 항목 하나가 한 번에 {size}바이트를 요구합니다",
    "folder": "'{source}'은(는) 받지 않습니다: {split}/{folder} 폴더는 클래스가 될 수 없습니다. {reason}.",
    "same": "'{source}'은(는) 받지 않습니다: {split}/ 안에서 {reason}. 두 폴더 중 하나만 남기세요.",
    "outside": "압축 파일을 받지 않습니다: 항목 '{name}'이(가) 폴더 밖을 가리킵니다.",
    "symlink": "압축 파일을 받지 않습니다: 항목 '{name}'은(는) 심볼릭 링크입니다.",
    "link": "압축 파일을 받지 않습니다: 항목 '{name}'은(는) 링크입니다.",
}

DATA = {
    "not_found": "'{path}'에서 학습 데이터를 찾지 못했습니다. 시도한 것: {tried}. 다음 중 하나를 하세요: 인터넷에 한 번 "
                 "연결해서 torchvision이 그 폴더에 CIFAR-10을 내려받게 하기; --data(또는 환경 변수 CIFAR_DEMO_DATA)로 "
                 "CIFAR-10 사본을 가리키기 ('cifar-10-batches-py' 폴더, train/<class>/와 test/<class>/에 그림이 있는 "
                 "폴더, 또는 그런 폴더의 .tar.gz/.zip 압축 파일); 또는 같은 구조로 클래스마다 하위 폴더를 하나씩 "
                 "만들어 그림 폴더를 직접 만들기.",
    "tried_more": "{first}; {second}",
    "not_archive": "'{name}'은(는) 파일이지만 .tar.gz, .tgz, .tar, .zip 압축 파일이 아닙니다",
    "tried_batches": "torchvision의 'cifar-10-batches-py' 폴더",
    "tried_tree": "train/<class>/와 test/<class>/에 그림이 있는 폴더",
    "tried_download": "torchvision으로 CIFAR-10 내려받기 ({reason})",
    "offline": "인터넷에 연결되어 있지 않습니다: 내려받을 서버에 닿지 못했습니다",
    "disk_full": "디스크가 꽉 찼습니다",
    "unusable": "'{file}'은(는) 쓸 수 있는 CIFAR-10 배치 파일이 아닙니다: {why}. 그 안의 어떤 것도 실행하지 않았습니다. "
                "cifar-10-batches-py 폴더를 새 CIFAR-10 사본으로 바꾸거나(또는 지우고 torchvision이 다시 내려받게 "
                "하거나), --data로 그림 폴더를 가리키세요.",
    "object": "'{file}'은(는) 받지 않습니다: CIFAR-10 배치 파일에는 없는 파이썬 객체 '{name}'을(를) 불러오라고 해서 거기서 "
              "읽기를 멈췄고, 그 안의 어떤 것도 실행하지 않았습니다. cifar-10-batches-py 폴더를 새 CIFAR-10 사본으로 "
              "바꾸거나, --data로 그림 폴더를 가리키세요.",
    "batch_size": "{size}바이트로, {most}바이트보다 큽니다",
    "batch_unreadable": "읽을 수 없습니다 ({reason})",
    "batch_unpickle": "언피클할 수 없습니다 ({reason})",
    "batch_entry": "'{name}' 항목이 있는 딕셔너리가 아닙니다",
    "batch_labels": "'label_names'가 서로 다른 클래스 이름의 목록이 아닙니다",
    "batch_label_name": "'label_names'에서: {reason}",
    "batch_data": "'data'가 N x {row} 픽셀 배열이 아닙니다",
    "batch_values": "'data'에 0-255 밖의 값이 있습니다",
    "batch_numbers": "'labels'가 0부터 {last}까지의 클래스 번호 {count}개가 아닙니다",
    "archive": "압축 파일 '{path}'을(를) 읽을 수 없습니다: {reason}. 파일이 다 받아졌는지 확인하세요.",
    "no_train": "'{source}'에 train/ 폴더는 있지만 train/<class>/ 하위 폴더에 그림이 없습니다.",
    "unknown_test": "'{source}': test/에 train/에 없는 클래스가 있습니다: {classes}.",
    "both": "'{source}'에는 train/<class>/와 test/<class>/ 모두에 읽을 수 있는 그림이 있어야 합니다.",
}

WALL = {
    "truth": "'{truth}'은(는) 사용 중인 모델의 클래스가 아닙니다: {named} 중 하나나, '이 중에 없음', 또는 '모름'을 "
             "고르세요.",
    "no_picture": "게시판에 #{entry}번 그림이 없습니다.",
    "folders": "게시판을 모델의 클래스 폴더로 저장할 수 없습니다: {reason}.",
    "none_labelled": "게시판에 실제로 무엇인지(모델의 클래스 중 하나) 적힌 그림이 아직 없어서, 정답이 붙은 그림으로 저장할 "
                     "것이 없습니다.",
    "page_shares": "이 페이지는 그림을 {cap}장 올렸습니다. 페이지 하나가 올릴 수 있는 최대입니다. 선생님이 게시판을 비우면 "
                   "다시 올릴 수 있습니다.",
    "computer_shares": "이 컴퓨터는 그림을 {cap}장 올렸습니다. 컴퓨터 한 대가 올릴 수 있는 최대입니다. 선생님이 게시판을 "
                       "비우면 다시 올릴 수 있습니다.",
}

MODELS = {
    "unknown": "'{name}' 모델은 없습니다: 목록에서 고르세요.",
    "none": "아직 학습된 모델이 없습니다: 학습 탭에서 학습하거나, --checkpoint FILE로 앱을 시작하세요.",
    "skipped": "체크포인트 파일 {count}개를 쓸 수 없어 건너뛰었습니다; 이유는 서버 로그에 있습니다.",
    "skipped_one": "체크포인트 파일 1개를 쓸 수 없어 건너뛰었습니다; 이유는 서버 로그에 있습니다.",
    "held_out_gone": "{file}은(는) 서버가 마지막으로 시작하기 전에 모은 그림으로 학습해서, 따로 떼어 둔 그림이 없어졌습니다; "
                     "분류와 신경망 속 탭은 그대로 쓸 수 있습니다.",
    "other_classes": "사용 중인 모델이 아는 클래스는 {known}인데, 데이터의 클래스는 {classes}입니다: 먼저 이 데이터로 모델을 "
                     "학습하세요.",
}

STORE = {
    "cannot_open": "저장소 {path}을(를) 열 수 없습니다: {reason}.",
    "in_use": "다른 앱이 이미 저장소 {path}을(를) 쓰고 있습니다: 그 앱을 멈추거나, 이 앱에 --store PATH로 따로 저장소를 "
              "주세요.",
    "not_saved": "저장소 {name}에 이것을 저장하지 못했습니다 ({why}); 전에 저장한 것은 모두 남아 있습니다.",
    "disk_full": "디스크가 꽉 찼습니다",
    "read_only": "디스크나 폴더가 읽기 전용이거나 고장 났습니다",
    "no_class": "이번 수업의 저장소에 '{name}' 클래스가 없습니다.",
    "no_lesson": "되살릴 보관된 수업 #{lesson}이(가) 없습니다.",
    "lesson_refused": "수업 '{name}'을(를) 받지 않습니다: {reason}.",
    "not_zip": "zip 파일이 아닙니다", "bad_zip": "망가진 zip 파일입니다 ({reason})",
    "moved_aside": "우리 반 저장소를 읽을 수 없어서(망가졌거나 이 앱의 것이 아님) 옆에 {name}(으)로 옮겨 두고, 비어 있는 새 "
                   "저장소로 시작했습니다.",
}

LESSON_ZIP = {
    "members": "파일이 {count}개 있습니다; 수업에는 {most}개까지 있을 수 있습니다",
    "outside": "파일 '{name}'이(가) 폴더 밖을 가리킵니다",
    "link": "'{name}'은(는) 링크입니다",
    "twice": "파일 '{name}'이(가) 두 번 나옵니다",
    "no_manifest": "{manifest}이(가) 없습니다: 수업 zip이 아닙니다",
    "not_manifest": "{manifest}이(가) 수업의 것이 아닙니다",
    "picture_missing": "'{name}'이(가) 없거나 그림이라기에는 너무 큽니다",
    "not_png": "'{name}'은(는) 32x32 PNG가 아닙니다",
    "classes": "클래스가 {count}개 있습니다; {most}개까지입니다",
    "wall": "게시판에 그림이 {count}장 있습니다; {most}장까지입니다",
    "broken": "{manifest}이(가) 망가졌습니다",
    "name": "클래스 이름 '{name}'이(가) 앱이 저장하는 형식이 아닙니다",
    "class_twice": "클래스 '{name}'이(가) 두 번 나옵니다",
    "class_pictures": "클래스 '{name}'의 그림이 {most}장을 넘습니다",
    "truth": "게시판의 정답 '{truth}'은(는) 클래스가 될 수 없습니다",
}

EXPLAIN = {
    "layer": "층", "type": "종류", "input": "입력", "output": "출력", "parameters": "매개변수",
    "picture": "신경망은 3x32x32 그림을 봅니다: 32x32 픽셀짜리 색 채널 3개(빨강, 초록, 파랑)입니다.",
    "filters": "필터 {count}개가 채널 {count}개를 만듭니다",
    "turns": "{before}을(를) {after}(으)로 바꿉니다", "keeps": "{after}을(를) 그대로 둡니다",
    "lost_sides": "양쪽에서 {n}픽셀씩", "lost_all": "모두 {n}픽셀", "lost_one": "모두 1픽셀",
    "conv_valid": "{name}은(는) {turns}. 패딩 없는 {k}x{k} 커널은 {lost}을 잃기 때문입니다; {filters}.",
    "conv_same": "{name}은(는) {turns}: 패딩 {p}가 크기를 지킵니다. {p}픽셀 두께의 0 테두리가 {k}x{k} 커널이 가장자리에서 "
                 "잃는 만큼을 채워 주기 때문입니다; {filters}.",
    "conv_patches": "{name}은(는) {turns}: 보폭 {s}의 {k}x{k} 커널이 그림을 겹치지 않는 {k}x{k} 조각으로 나눕니다; "
                    "{filters}.",
    "conv": "{name}은(는) {turns}: {k}x{k} 커널, 보폭 {s}, 패딩 {p}이면 (크기 + 2·{p} − {k}) / {s} + 1 픽셀이 됩니다; "
            "{filters}.",
    "flatten": "flatten은 {before}을(를) 한 줄로 늘어선 숫자 {after}개로 바꿉니다 ({product} = {count}). 그래야 선형 층이 "
               "받을 수 있습니다.",
    "global_largest": "{name}은(는) 채널 {channels}개마다 가장 큰 값 하나만 남깁니다: {before}에서 {after}(으)로.",
    "global_average": "{name}은(는) 채널 {channels}개마다 평균값 하나만 남깁니다: {before}에서 {after}(으)로.",
    "halves_largest": "{name}은(는) {before}을(를) {after}(으)로 절반으로 줄입니다: {k}x{k} 창마다 가장 큰 값을 남깁니다.",
    "halves_average": "{name}은(는) {before}을(를) {after}(으)로 절반으로 줄입니다: {k}x{k} 창마다 평균값을 남깁니다.",
    "shrinks_largest": "{name}은(는) {before}을(를) {after}(으)로 줄입니다: {k}x{k} 창마다 가장 큰 값을 남깁니다.",
    "shrinks_average": "{name}은(는) {before}을(를) {after}(으)로 줄입니다: {k}x{k} 창마다 평균값을 남깁니다.",
    "linear": "{name}은(는) 입력 {inputs}개를 모두 출력 {outputs}개에 잇습니다 (가중치 {inputs}·{outputs}개).",
    "linear_bias": "{name}은(는) 입력 {inputs}개를 모두 출력 {outputs}개에 잇습니다 (가중치 {inputs}·{outputs}개 + "
                   "편향 {outputs}개).",
    "linear_last": "{name}은(는) 입력 {inputs}개를 모두 출력 {outputs}개에 잇습니다: 클래스마다 점수 하나 (가중치 "
                   "{inputs}·{outputs}개).",
    "linear_last_bias": "{name}은(는) 입력 {inputs}개를 모두 출력 {outputs}개에 잇습니다: 클래스마다 점수 하나 (가중치 "
                        "{inputs}·{outputs}개 + 편향 {outputs}개).",
    "batchnorm": "{name}은(는) 채널 {channels}개를 각각 안정된 범위로 다시 맞춥니다; 모양은 {after} 그대로입니다.",
    "relu": "{name}은(는) 음수 값을 0으로 만듭니다; 모양은 {after} 그대로입니다.",
    "gelu": "{name}은(는) 양수 값은 통과시키고 음수 값은 0 쪽으로 누릅니다; 모양은 {after} 그대로입니다.",
    "residual": "{name}은(는) 두 합성곱이 만든 것에 입력을 다시 더합니다 (건너뛰기 연결); 모양은 {after} 그대로입니다.",
    "other": "{name}은(는) {before}을(를) {after}(으)로 바꿉니다.",
    "filters_title": "{name}: {k}x{k} 픽셀 x 3색 필터 {count}개",
    "stage_all": "{name}: 채널 {channels}개 모두, 각각 {height}x{width}",
    "stage_strongest": "{name}: 채널 {channels}개 중 가장 강한 {shown}개, 각각 {height}x{width}",
    "cold": "그림의 어느 부분도 '{name}'({probability})의 점수를 올리지 않아서 지도가 차갑게 남았습니다.",
    "warm": "따뜻한 곳은 신경망이 '{name}'({probability})의 근거를 찾은 곳이고, 차가운 곳은 그 점수를 올리지 않은 곳입니다. "
            "이 지도는 그림을 {cells}x{cells} 칸으로 보는 {layer}에서 나옵니다.",
    "own_answer": "{line} 신경망 자신의 답은 '{predicted}'({top})입니다.",
    "tensor": "그림 텐서는 uint8 3x32x32여야 하는데, {dtype} {shape}입니다.",
    "unknown_class": "'{name}'은(는) 모르는 클래스입니다; 다음 중 하나를 고르세요: {classes}.",
}

TRAINING = {
    "settings": "학습 설정이 올바르지 않습니다: {problems}.",
    "memory": "{device}의 메모리가 모자랍니다: 배치 크기(지금 {batch})를 줄이거나 더 작은 신경망을 고르세요.",
    "compile": "{device}에서 torch.compile이 실패했습니다 ({reason}). compile 없이 학습하세요: 선택 사항이고 속도만 "
               "바뀝니다.",
    "diverged": "학습이 발산했습니다: {step}번째 단계(에포크 {epoch})에서 손실이 {loss}이(가) 되었습니다. 학습률 {lr}은(는) "
                "이 신경망에 너무 높습니다; {lower}(으)로 해 보세요. 아무것도 저장하지 않았습니다.",
    "base_net": "바탕 체크포인트 {file}은(는) {base}인데, 이 설정은 {net}을(를) 학습합니다: 같은 신경망을 고르세요.",
    "died": "학습 프로세스가 갑자기 멈췄습니다 ({how}). 이번 학습은 잃었지만, 저장된 체크포인트는 모두 그대로입니다. 학습을 "
            "눌러 다시 시작하세요.",
    "killed": "{signal} 신호로 종료됨", "exit": "종료 상태 {status}",
    "unknown_net": "'{name}'은(는) 모르는 신경망입니다; 다음 중 하나를 고르세요: {nets}.",
    "checkpoint_name": "'{name}'은(는) 올바른 체크포인트 이름이 아닙니다: 글자, 숫자, '-', '_', '.'를 쓰고 글자나 숫자로 "
                       "시작하세요.",
}

SETTING = {  # a training setting's name, as refusals and the README's settings table call it (settings.py)
    "model": "신경망",
    "width": "너비",
    "epochs": "에포크",
    "minutes": "제한 시간(분)",
    "batch_size": "배치 크기",
    "lr": "학습률",
    "momentum": "모멘텀",
    "weight_decay": "가중치 감쇠",
    "filter_lr": "필터 학습률",
    "optimizer": "최적화 방법",
    "schedule": "학습률 일정",
    "warmup": "워밍업",
    "label_smoothing": "레이블 스무딩",
    "augment": "데이터 늘리기",
    "translate": "이동 폭",
    "test_time_flip": "테스트 때 뒤집기",
    "test_time_shift": "테스트 때 이동",
    "evals_per_epoch": "에포크당 평가 횟수",
    "seed": "시드",
    "device": "장치",
    "compile": "컴파일",
    "init_from": "기본 체크포인트",
    "train_layers": "학습할 층",
    "colour_jitter": "색 흔들기",
    "cpu_bf16": "CPU bf16",
    "norm_lr_scale": "BatchNorm 학습률 배수",
    "lookahead": "룩어헤드",
    "whiten_bias_epochs": "화이트닝 편향 에포크",
    "alternate_flip": "번갈아 뒤집기",
}

RULE = {  # what a setting's value must be (settings.py, training.py); a refusal reads 'must'
    "must": "{label}에는 {must}만 쓸 수 있습니다",
    "whole": "{low}부터 {high}까지의 정수",
    "none_or": "없음 또는 {must}",
    "above_to": "{low}보다 크고 {high} 이하인 수",
    "from_below": "{low} 이상 {high} 미만인 수",
    "from_to": "{low}부터 {high}까지의 수",
    "either": "{first} 또는 {second}",
    "one_of": "{choices} 중 하나",
    "switch": "참 또는 거짓",
    "base_checkpoint": "없음 또는 {most}자 이하의 경로",
    "train_layers": "'all', 또는 시작할 기본 체크포인트가 있을 때 'head'",
    "width": "없음 또는, fastnet이면 {low}부터 {high}까지의 4의 배수",
    "device_name": "장치 이름",
}

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
